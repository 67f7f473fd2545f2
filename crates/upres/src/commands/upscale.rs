use indicatif::{ProgressBar, ProgressStyle};
use std::path::PathBuf;
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};
use upres_image::io::{Format, ReadOptions, WriteOptions};
use upres_infer::batch;
use upres_infer::model::AlphaMode;
use upres_infer::pipeline::{TileSize, UpscaleOptions, memory_budget, upscale_file};
use upres_infer::zoo::{self, Domain};

#[derive(clap::Args)]
pub struct Args {
    /// Input: an image file, a folder (recursive) or a glob pattern.
    #[arg(short, long)]
    input: String,
    /// Output: a file (single input) or a folder that mirrors the input's layout.
    #[arg(short, long)]
    output: PathBuf,
    /// Upscaling factor.
    #[arg(short, long, default_value_t = 4)]
    scale: usize,
    /// The model: a built-in name (`upres models`), a weights file, a training run's folder
    /// or an interpolation (bicubic, lanczos3, ...). Default: the best built-in model at the
    /// scale, or bicubic where there is none.
    #[arg(short, long)]
    model: Option<String>,
    /// A preset for a kind of image instead of --model: `text`, the built-in model trained on
    /// rendered text, for scans of documents (gray or bilevel; gray stays gray).
    #[arg(long, conflicts_with = "model")]
    preset: Option<Preset>,
    /// Tile side in input pixels (default: chosen by upres). Tiles overlap by the model's
    /// receptive field, so the result does not depend on it.
    #[arg(short, long)]
    tile: Option<usize>,
    /// x8 self-ensemble: average over flips and rotations (8x slower, slightly better).
    #[arg(long)]
    tta: bool,
    /// Output format: png, jpg, webp, tif or bmp (default: the output's extension, or the
    /// input's format for folders).
    #[arg(short, long)]
    format: Option<Format>,
    /// JPEG quality.
    #[arg(long, default_value_t = 95)]
    quality: u8,
    /// How to upscale an alpha channel: with the model, or bicubic.
    #[arg(long, default_value = "model")]
    alpha: Alpha,
    /// Replace outputs that exist.
    #[arg(long)]
    overwrite: bool,
    /// Files processed at once.
    #[arg(short, long, default_value_t = 1)]
    jobs: usize,
}

pub fn run(args: Args) -> anyhow::Result<()> {
    anyhow::ensure!(args.scale >= 1, "scale must be at least 1");
    let alpha = match args.alpha {
        Alpha::Model => AlphaMode::Model,
        Alpha::Bicubic => AlphaMode::Bicubic,
    };
    let name = match args.preset {
        Some(Preset::Text) => text_model(args.scale)?,
        None => super::model_or_default(args.model.as_deref(), args.scale),
    };
    let method = super::method(name, alpha)?;
    let jobs = batch::plan(&args.input, &args.output, args.format)?;
    let options = UpscaleOptions {
        scale: args.scale,
        // Each file in flight gets its share of the memory budget.
        tile: TileSize::given_or_auto(args.tile, memory_budget() / args.jobs.max(1) as u64),
        tta: args.tta,
        write: WriteOptions {
            format: args.format,
            jpeg_quality: args.quality,
            overwrite: args.overwrite,
        },
        read: ReadOptions::default(),
    };
    if let [job] = jobs.as_slice() {
        // One file: its error is the command's one line.
        return Ok(upscale_file(
            job,
            method.as_ref(),
            &options,
            &mut |_, _| {},
        )?);
    }
    let bar = ProgressBar::new(jobs.len() as u64).with_style(
        ProgressStyle::with_template("{bar:30} {pos}/{len} files {msg} [{elapsed} < {eta}]")
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    let failures = Mutex::new(Vec::new());
    // `jobs` workers take files in turn; each file's inference still spreads over every core
    // through the global thread pool (a pool of `jobs` threads would confine it to those).
    let next = AtomicUsize::new(0);
    std::thread::scope(|scope| {
        for _ in 0..args.jobs.min(jobs.len()).max(1) {
            scope.spawn(|| {
                while let Some(job) = jobs.get(next.fetch_add(1, Ordering::Relaxed)) {
                    let name = job.input.display().to_string();
                    let mut tiles = |done: usize, total: usize| {
                        if args.jobs <= 1 {
                            bar.set_message(format!("{name}: tile {done}/{total}"));
                        }
                    };
                    if let Err(err) = upscale_file(job, method.as_ref(), &options, &mut tiles) {
                        bar.suspend(|| eprintln!("upres: error: {err}"));
                        failures.lock().map(|mut f| f.push(name)).ok();
                    }
                    bar.inc(1);
                }
            });
        }
    });
    bar.finish_and_clear();
    let failed = failures.into_inner().unwrap_or_default();
    anyhow::ensure!(
        failed.is_empty(),
        "{} of {} files failed: {}",
        failed.len(),
        jobs.len(),
        failed.join(", ")
    );
    Ok(())
}

#[derive(Clone, Copy, clap::ValueEnum)]
enum Preset {
    Text,
}

/// The text preset's model at `scale`.
fn text_model(scale: usize) -> anyhow::Result<&'static str> {
    if let Some(model) = zoo::best_for(Domain::Text, scale) {
        return Ok(model.name);
    }
    let scales: Vec<String> = zoo::ZOO
        .iter()
        .filter(|m| m.domain == Domain::Text)
        .map(|m| format!("x{}", m.scale))
        .collect();
    anyhow::bail!(
        "the text preset has no model at x{scale}; it has {}",
        scales.join(", ")
    )
}

#[derive(Clone, Copy, clap::ValueEnum)]
enum Alpha {
    Model,
    Bicubic,
}
