use std::path::PathBuf;

use upres_image::degrade::TestDegradation;
use upres_infer::model::{AlphaMode, Method, find_method};
use upres_infer::zoo::{self, Domain};
use upres_metrics::report::published::published;
use upres_metrics::report::{self, CropRequest, ReportMethod, ReportOptions};
use upres_metrics::{Dataset, PerceptualDistance};

#[derive(clap::Args)]
pub struct Args {
    /// Methods, comma separated: interpolations, built-in models, model files, training runs
    /// (default: bicubic and every built-in photo model).
    #[arg(short, long, value_delimiter = ',')]
    models: Vec<String>,
    /// Dataset folders holding HR/; repeatable.
    #[arg(short, long, required = true)]
    data: Vec<PathBuf>,
    /// Scales, comma separated (default: every scale a listed model is built for).
    #[arg(short, long, value_delimiter = ',')]
    scale: Vec<usize>,
    /// Test-set degradations, comma separated: BI, BD, DN, JPEG30 (see `upres eval`).
    #[arg(long, value_delimiter = ',', default_value = "BI")]
    degradation: Vec<TestDegradation>,
    #[command(flatten)]
    lpips: super::LpipsArgs,
    /// A region to show, as IMAGE:X,Y (file stem, top-left corner in HR pixels, moved onto
    /// the grid where every scale's input has whole pixels); repeatable.
    #[arg(long, value_parser = parse_crop)]
    crop: Vec<CropRequest>,
    /// Do not pick each dataset's edge and texture regions; show only --crop regions.
    #[arg(long)]
    no_auto_regions: bool,
    /// Side of the crops in HR pixels, a multiple of every scale (default: the smallest such
    /// multiple of at least 48).
    #[arg(long)]
    crop_size: Option<usize>,
    /// How much the crops are enlarged (nearest neighbour).
    #[arg(long, default_value_t = 4)]
    zoom: usize,
    /// Folder for index.html, report.md and the PNG grids.
    #[arg(short, long)]
    output: PathBuf,
}

fn parse_crop(text: &str) -> Result<CropRequest, String> {
    let bad = || format!("'{text}' is not IMAGE:X,Y");
    let (name, at) = text.rsplit_once(':').ok_or_else(bad)?;
    let (x, y) = at.split_once(',').ok_or_else(bad)?;
    Ok(CropRequest {
        name: name.to_string(),
        x: x.trim().parse().map_err(|_| bad())?,
        y: y.trim().parse().map_err(|_| bad())?,
    })
}

/// A method with the figures its paper published (for an architecture with its paper's
/// hyper-parameters).
fn report_method(name: &str) -> anyhow::Result<ReportMethod> {
    let method = find_method(name).map_err(|e| anyhow::anyhow!("{e}"))?;
    let published = match &method {
        Method::Interpolation(filter) => published(filter.name()),
        Method::Model(model) if model.variant().keeps_layers() => published(model.name()),
        Method::Model(_) => Vec::new(),
    };
    Ok(ReportMethod {
        label: name.to_string(),
        upscaler: method.into_upscaler(AlphaMode::Model),
        published,
    })
}

/// The command line as typed, for the report's pages.
fn command_line() -> String {
    let quote = |a: String| {
        if a.contains(|c: char| c.is_whitespace() || c == '\'') {
            format!("'{}'", a.replace('\'', r"'\''"))
        } else {
            a
        }
    };
    std::iter::once("upres".to_string())
        .chain(std::env::args().skip(1).map(quote))
        .collect::<Vec<_>>()
        .join(" ")
}

pub fn run(args: Args) -> anyhow::Result<()> {
    let names = if args.models.is_empty() {
        std::iter::once("bicubic")
            .chain(
                zoo::ZOO
                    .iter()
                    .filter(|m| m.domain == Domain::Photo)
                    .map(|m| m.name),
            )
            .map(String::from)
            .collect()
    } else {
        args.models
    };
    let methods = names
        .iter()
        .map(|n| report_method(n))
        .collect::<anyhow::Result<Vec<_>>>()?;
    let scales = if args.scale.is_empty() {
        let mut fixed: Vec<usize> = methods
            .iter()
            .filter_map(|m| m.upscaler.fixed_scale())
            .collect();
        fixed.sort_unstable();
        fixed.dedup();
        if fixed.is_empty() {
            vec![2, 3, 4]
        } else {
            fixed
        }
    } else {
        args.scale
    };
    let align = report::alignment(&scales);
    let options = ReportOptions {
        crop_size: args.crop_size.unwrap_or(48usize.div_ceil(align) * align),
        scales,
        degradations: args.degradation,
        zoom: args.zoom,
        auto_regions: !args.no_auto_regions,
        crops: args.crop,
    };
    let datasets = args
        .data
        .iter()
        .map(|d| Dataset::open(d))
        .collect::<Result<Vec<_>, _>>()?;
    for crop in &options.crops {
        if !datasets
            .iter()
            .any(|d| d.image_names().any(|n| n == crop.name))
        {
            anyhow::bail!("--crop {}: no dataset has an image of that name", crop.name);
        }
    }
    let lpips = args.lpips.load()?;
    let perceptual = lpips.as_ref().map(|l| l as &dyn PerceptualDistance);
    let report = report::build(
        &methods,
        &datasets,
        &options,
        perceptual,
        command_line(),
        &mut |line| eprintln!("{line}"),
    )?;
    report::write(&report, &args.output)?;
    println!(
        "{}: {} tables, {} crop grids",
        args.output.join("index.html").display(),
        report.tables.len(),
        report.figures.len()
    );
    Ok(())
}
