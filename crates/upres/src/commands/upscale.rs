use std::path::PathBuf;
use upres_image::io::{self, Format, WriteOptions};

#[derive(clap::Args)]
pub struct Args {
    /// Input image.
    #[arg(short, long)]
    input: PathBuf,
    /// Output image; its extension picks the format unless --format is given.
    #[arg(short, long)]
    output: PathBuf,
    /// Upscaling factor.
    #[arg(short, long, default_value_t = 4)]
    scale: usize,
    /// The model (built-in default: bicubic).
    #[arg(short, long, default_value = "bicubic")]
    model: String,
    /// Output format: png, jpg, webp, tif or bmp.
    #[arg(short, long)]
    format: Option<Format>,
    /// Replace OUTPUT if it exists.
    #[arg(long)]
    overwrite: bool,
}

pub fn run(args: Args) -> anyhow::Result<()> {
    anyhow::ensure!(args.scale >= 1, "scale must be at least 1");
    let method = super::method(&args.model)?;
    let decoded = io::read(&args.input)?;
    let upscaled = method
        .upscale(&decoded.image, args.scale)
        .map_err(|e| anyhow::anyhow!("{}: {e}", args.input.display()))?;
    let options = WriteOptions {
        format: args.format,
        overwrite: args.overwrite,
        ..WriteOptions::default()
    };
    io::write(&args.output, &upscaled, &decoded.metadata, options)?;
    Ok(())
}
