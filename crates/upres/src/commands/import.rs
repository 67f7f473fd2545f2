use anyhow::Context;
use burn::tensor::Device;
use std::path::PathBuf;

#[derive(clap::Args)]
pub struct Args {
    /// A PyTorch checkpoint (`.pth`/`.pt`) under the reference implementation's key names
    /// (EDSR-PyTorch, BasicSR, Real-ESRGAN, the SRCNN/FSRCNN/ESPCN ports).
    checkpoint: PathBuf,
    /// Registry name of its architecture (`upres models`).
    #[arg(short, long)]
    model: String,
    /// Its upscaling factor.
    #[arg(short, long)]
    scale: usize,
    /// The model file to write (`.upres`).
    #[arg(short, long)]
    output: PathBuf,
}

pub fn run(args: Args) -> anyhow::Result<()> {
    anyhow::ensure!(
        args.output.extension().is_some_and(|e| e == "upres"),
        "{}: the output is a .upres model file",
        args.output.display()
    );
    let mut model = upres_models::build(&args.model, args.scale, &Device::flex())?;
    model.load_pytorch(&args.checkpoint)?;
    let source = args.checkpoint.file_name().map_or_else(
        || args.checkpoint.display().to_string(),
        |name| name.to_string_lossy().into_owned(),
    );
    let temp = args.output.with_extension("upres.tmp");
    model.save_with_metadata(&temp, &[("upres.imported_from", &source)])?;
    std::fs::rename(&temp, &args.output).with_context(|| format!("{}", args.output.display()))?;
    println!("wrote {}", args.output.display());
    Ok(())
}
