use std::path::PathBuf;
use upres_metrics::{Channel, Dataset, DatasetScores, LowResSource, evaluate};

#[derive(clap::Args)]
pub struct Args {
    /// The method to evaluate.
    #[arg(short, long, default_value = "bicubic")]
    model: String,
    /// Dataset folders holding HR/ (and LR_bicubic/X{s}/ for --lr-from-disk); repeatable.
    #[arg(short, long, required = true)]
    data: Vec<PathBuf>,
    /// Scales, comma separated.
    #[arg(short, long, value_delimiter = ',', default_value = "2,3,4")]
    scale: Vec<usize>,
    /// Read LR inputs from <data>/LR_bicubic/X{s}/ instead of making them.
    #[arg(long)]
    lr_from_disk: bool,
    /// Compare on Y (the papers) or on RGB (BasicSR's default).
    #[arg(long, default_value = "y")]
    channel: Channel,
    /// Also write the results as JSON.
    #[arg(long)]
    json: Option<PathBuf>,
}

pub fn run(args: Args) -> anyhow::Result<()> {
    let method = super::method(&args.model)?;
    let source = if args.lr_from_disk {
        LowResSource::Disk
    } else {
        LowResSource::Bicubic
    };
    let suffix = match args.channel {
        Channel::Y => "y",
        Channel::Rgb => "rgb",
    };
    println!(
        "{:<16} {:<10} {:>5} {:>10} {:>10}",
        "model",
        "dataset",
        "scale",
        format!("psnr_{suffix}"),
        format!("ssim_{suffix}")
    );
    let mut results: Vec<DatasetScores> = Vec::new();
    for dir in &args.data {
        let dataset = Dataset::open(dir)?;
        for &scale in &args.scale {
            anyhow::ensure!(scale >= 1, "scale must be at least 1");
            let scores = evaluate(method.as_ref(), &dataset, scale, source, args.channel)?;
            println!(
                "{:<16} {:<10} {:>5} {:>10.4} {:>10.6}",
                scores.method,
                scores.dataset,
                format!("x{scale}"),
                scores.mean.psnr,
                scores.mean.ssim
            );
            results.push(scores);
        }
    }
    if let Some(path) = &args.json {
        let json = to_json(&results, suffix);
        let text = serde_json::to_string_pretty(&json)?;
        std::fs::write(path, text + "\n")
            .map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?;
    }
    Ok(())
}

/// `{"results":[{"model","dataset","scale","psnr_y","ssim_y","images":[{"name","psnr_y","ssim_y"}]}]}`.
fn to_json(results: &[DatasetScores], suffix: &str) -> serde_json::Value {
    let (psnr, ssim) = (format!("psnr_{suffix}"), format!("ssim_{suffix}"));
    let results: Vec<_> = results
        .iter()
        .map(|r| {
            let images: Vec<_> = r
                .images
                .iter()
                .map(|i| {
                    let mut o = serde_json::Map::new();
                    o.insert("name".into(), i.name.clone().into());
                    o.insert(psnr.clone(), i.scores.psnr.into());
                    o.insert(ssim.clone(), i.scores.ssim.into());
                    serde_json::Value::Object(o)
                })
                .collect();
            let mut o = serde_json::Map::new();
            o.insert("model".into(), r.method.clone().into());
            o.insert("dataset".into(), r.dataset.clone().into());
            o.insert("scale".into(), r.scale.into());
            o.insert(psnr.clone(), r.mean.psnr.into());
            o.insert(ssim.clone(), r.mean.ssim.into());
            o.insert("images".into(), images.into());
            serde_json::Value::Object(o)
        })
        .collect();
    serde_json::json!({ "results": results })
}
