use std::path::PathBuf;
use upres_image::degrade::TestDegradation;
use upres_metrics::{
    Channel, Dataset, DatasetScores, LowResSource, PerceptualDistance, evaluate_with,
};

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
    /// How the LR inputs are made from HR: BI (MATLAB bicubic), BD (7x7 Gaussian blur of
    /// sigma 1.6, then every s-th pixel), DN (BI plus Gaussian noise of sigma 30, fixed seed),
    /// JPEG30 (BI, then JPEG quality 30).
    #[arg(long, default_value = "BI")]
    degradation: TestDegradation,
    /// Read LR inputs from <data>/LR_bicubic/X{s}/ instead of making them (BI only).
    #[arg(long)]
    lr_from_disk: bool,
    /// Compare on Y (the papers) or on RGB (BasicSR's default).
    #[arg(long, default_value = "y")]
    channel: Channel,
    /// Score the x8 self-ensemble (EDSR's "+" figures): the mean of the outputs for the eight
    /// flips and rotations of each input.
    #[arg(long)]
    ensemble: bool,
    #[command(flatten)]
    lpips: super::LpipsArgs,
    /// Also write the results as JSON.
    #[arg(long)]
    json: Option<PathBuf>,
}

pub fn run(args: Args) -> anyhow::Result<()> {
    let mut method = super::method(&args.model, upres_infer::model::AlphaMode::Model)?;
    if args.ensemble {
        method = Box::new(upres_infer::ensemble::SelfEnsemble(method));
    }
    let source = match (args.lr_from_disk, args.degradation) {
        (true, TestDegradation::Bi) => LowResSource::Disk,
        (true, other) => anyhow::bail!(
            "--lr-from-disk reads bicubic LR files; it cannot be combined with --degradation {other}"
        ),
        (false, TestDegradation::Bi) => LowResSource::Bicubic,
        (false, other) => LowResSource::Degraded(other),
    };
    let lpips = args.lpips.load()?;
    let perceptual = lpips.as_ref().map(|l| l as &dyn PerceptualDistance);
    let perceptual_column = perceptual.map(|p| p.name());
    let suffix = match args.channel {
        Channel::Y => "y",
        Channel::Rgb => "rgb",
    };
    // A variant's label holds spaces (`fsrcnn-y (deconv=centred)`): the column fits it.
    let width = method.as_ref().name().len().max(16);
    println!(
        "{:<width$} {:<10} {:<11} {:>5} {:>10} {:>10} {:>11}",
        "model",
        "dataset",
        "degradation",
        "scale",
        format!("psnr_{suffix}"),
        format!("ssim_{suffix}"),
        perceptual_column.as_deref().unwrap_or("")
    );
    let mut results: Vec<DatasetScores> = Vec::new();
    for dir in &args.data {
        let dataset = Dataset::open(dir)?;
        for &scale in &args.scale {
            anyhow::ensure!(scale >= 1, "scale must be at least 1");
            let scores = evaluate_with(
                method.as_ref(),
                &dataset,
                scale,
                source,
                args.channel,
                perceptual,
            )?;
            println!(
                "{:<width$} {:<10} {:<11} {:>5} {:>10.4} {:>10.6} {:>11}",
                scores.method,
                scores.dataset,
                scores.degradation,
                format!("x{scale}"),
                scores.mean.psnr,
                scores.mean.ssim,
                scores
                    .perceptual
                    .as_ref()
                    .map(|(_, v)| format!("{v:.4}"))
                    .unwrap_or_default()
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

/// `{"results":[{"model","dataset","degradation","scale","psnr_y","ssim_y",["lpips_alex",]"images":[{"name","psnr_y","ssim_y"[,"lpips_alex"]}]}]}`.
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
                    if let (Some((column, _)), Some(v)) = (&r.perceptual, i.perceptual) {
                        o.insert(column.clone(), v.into());
                    }
                    serde_json::Value::Object(o)
                })
                .collect();
            let mut o = serde_json::Map::new();
            o.insert("model".into(), r.method.clone().into());
            o.insert("dataset".into(), r.dataset.clone().into());
            o.insert("degradation".into(), r.degradation.name().into());
            o.insert("scale".into(), r.scale.into());
            o.insert(psnr.clone(), r.mean.psnr.into());
            o.insert(ssim.clone(), r.mean.ssim.into());
            if let Some((column, v)) = &r.perceptual {
                o.insert(column.clone(), (*v).into());
            }
            o.insert("images".into(), images.into());
            serde_json::Value::Object(o)
        })
        .collect();
    serde_json::json!({ "results": results })
}
