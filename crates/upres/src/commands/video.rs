use indicatif::{ProgressBar, ProgressStyle};
use std::path::PathBuf;
use upres_image::io::{ReadOptions, WriteOptions};
use upres_infer::model::AlphaMode;
use upres_infer::pipeline::{TileSize, UpscaleOptions, memory_budget};
use upres_infer::video::{VideoOptions, upscale_video};

#[derive(clap::Args)]
pub struct Args {
    /// Input video (anything ffmpeg reads).
    #[arg(short, long)]
    input: PathBuf,
    /// Output video; its extension picks the container, the input's codec family the codec.
    #[arg(short, long)]
    output: PathBuf,
    /// Upscaling factor.
    #[arg(short, long, default_value_t = 2)]
    scale: usize,
    /// The model, as for `upscale` (default: the best built-in model at the scale).
    #[arg(short, long)]
    model: Option<String>,
    /// Tile side in input pixels (default: chosen by upres).
    #[arg(short, long)]
    tile: Option<usize>,
    /// x8 self-ensemble on every frame (8x slower).
    #[arg(long)]
    tta: bool,
    /// Less flicker: blend each frame with the previous result moved by the camera's motion,
    /// where the two agree (0 to 0.95; 0.5 when given without a value).
    #[arg(long, num_args = 0..=1, default_missing_value = "0.5")]
    temporal: Option<f32>,
    /// Encoder quality (x264/x265 CRF: lower is better, 0 is lossless).
    #[arg(long, default_value_t = 18)]
    crf: u8,
    /// The output is encoded in parts of this many seconds, kept beside it until it is
    /// complete: an interrupted run, started again the same way, continues after the last
    /// finished part.
    #[arg(long, default_value_t = 60.0, value_name = "SECONDS")]
    segment: f64,
    /// Discard the parts of an interrupted run and start over.
    #[arg(long)]
    restart: bool,
    /// Replace the output if it exists.
    #[arg(long)]
    overwrite: bool,
}

pub fn run(args: Args) -> anyhow::Result<()> {
    anyhow::ensure!(args.scale >= 1, "scale must be at least 1");
    anyhow::ensure!(
        args.segment.is_finite() && args.segment > 0.0,
        "--segment must be a positive number of seconds"
    );
    anyhow::ensure!(
        args.overwrite || !args.output.exists(),
        "{}: exists (use --overwrite)",
        args.output.display()
    );
    let name = super::model_or_default(args.model.as_deref(), args.scale);
    let method = super::method(name, AlphaMode::Model)?;
    let options = VideoOptions {
        frame: UpscaleOptions {
            scale: args.scale,
            tile: TileSize::given_or_auto(args.tile, memory_budget()),
            tta: args.tta,
            write: WriteOptions::default(),
            read: ReadOptions::default(),
        },
        crf: args.crf,
        temporal: args.temporal,
        part_seconds: args.segment,
        restart: args.restart,
    };
    let bar = ProgressBar::new(0).with_style(
        ProgressStyle::with_template("{bar:30} {pos}/{len} frames, {per_sec} [{elapsed} < {eta}]")
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    let stats = upscale_video(
        &args.input,
        &args.output,
        method.as_ref(),
        &options,
        &mut |progress| {
            if let Some(total) = progress.total {
                bar.set_length(total);
            }
            if bar.position() == 0 && progress.resumed > 0 {
                bar.println(format!(
                    "continuing after the {} frames of an interrupted run",
                    progress.resumed
                ));
                bar.set_position(progress.resumed);
                bar.reset_eta();
            }
            bar.set_position(progress.done);
        },
    )?;
    bar.finish_and_clear();
    let upscaled = stats.frames - stats.resumed;
    eprintln!(
        "{upscaled} frames in {:.1} s ({:.2} frames/s) with {name}{}",
        stats.seconds,
        upscaled as f64 / stats.seconds,
        if stats.resumed > 0 {
            format!(", after {} from an interrupted run", stats.resumed)
        } else {
            String::new()
        }
    );
    Ok(())
}
