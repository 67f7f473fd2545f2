use std::path::PathBuf;
use upres_image::io::{self, WriteOptions};
use upres_image::resize::downscale_bicubic;

#[derive(clap::Args)]
pub struct Args {
    /// Downscaling factor (any positive number; 2 halves each side).
    #[arg(short, long)]
    scale: f64,
    /// Crop the input to a multiple of the scale first, as the SR benchmarks do.
    #[arg(long)]
    modcrop: bool,
    /// Replace OUTPUT if it exists.
    #[arg(long)]
    overwrite: bool,
    input: PathBuf,
    output: PathBuf,
}

pub fn run(args: Args) -> anyhow::Result<()> {
    let decoded = io::read(&args.input)?;
    let mut image = decoded.image;
    if args.modcrop {
        anyhow::ensure!(
            args.scale.fract() == 0.0,
            "--modcrop needs an integer scale, got {}",
            args.scale
        );
        image = image.crop_to_multiple(args.scale as usize)?;
    }
    let low = downscale_bicubic(&image, args.scale)?;
    let options = WriteOptions {
        overwrite: args.overwrite,
        ..WriteOptions::default()
    };
    // A modcrop trims the bottom and right only, so the georeferencing's origin stays.
    let metadata = decoded.metadata.resized(1.0 / args.scale);
    io::write(&args.output, &low, &metadata, options)?;
    Ok(())
}
