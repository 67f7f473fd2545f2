use anyhow::Context;
use burn::tensor::Device;
use std::path::PathBuf;
use upres_infer::zoo;

#[derive(clap::Args)]
pub struct Args {
    /// A PyTorch checkpoint (`.pth`/`.pt`) under the reference implementation's key names
    /// (EDSR-PyTorch, BasicSR, Real-ESRGAN, the SRCNN/FSRCNN/ESPCN ports), or an ncnn model's
    /// `.param` file (its `.bin` beside it), whose graph says the architecture and scale.
    checkpoint: PathBuf,
    /// Registry name of its architecture (`upres models`); checkpoints only.
    #[arg(short, long)]
    model: Option<String>,
    /// Its upscaling factor; checkpoints only.
    #[arg(short, long)]
    scale: Option<usize>,
    /// The model file to write (`.upres`); by default NAME.upres in the model directory
    /// (`UPRES_MODELS`, else ~/.local/share/upres/models), NAME being the input's stem, so
    /// that `-m NAME` finds it.
    #[arg(short, long)]
    output: Option<PathBuf>,
}

pub fn run(args: Args) -> anyhow::Result<()> {
    let output = match args.output {
        Some(output) => output,
        None => {
            let dir =
                zoo::model_dir().context("no model directory: set UPRES_MODELS or pass -o")?;
            std::fs::create_dir_all(&dir).with_context(|| format!("{}", dir.display()))?;
            let stem = args
                .checkpoint
                .file_stem()
                .context("the input has no file name")?;
            dir.join(stem).with_extension("upres")
        }
    };
    anyhow::ensure!(
        output.extension().is_some_and(|e| e == "upres"),
        "{}: the output is a .upres model file",
        output.display()
    );
    let model = if args.checkpoint.extension().is_some_and(|e| e == "param") {
        upres_models::ncnn::load_ncnn(&args.checkpoint, &Device::flex())?
    } else {
        let (Some(name), Some(scale)) = (&args.model, args.scale) else {
            anyhow::bail!("a checkpoint needs --model and --scale");
        };
        let mut model = upres_models::build(name, scale, &Device::flex())?;
        model.load_pytorch(&args.checkpoint)?;
        model
    };
    let source = args.checkpoint.file_name().map_or_else(
        || args.checkpoint.display().to_string(),
        |name| name.to_string_lossy().into_owned(),
    );
    let temp = output.with_extension("upres.tmp");
    model.save_with_metadata(&temp, &[("upres.imported_from", &source)])?;
    std::fs::rename(&temp, &output).with_context(|| format!("{}", output.display()))?;
    println!(
        "wrote {} ({} x{})",
        output.display(),
        model.label(),
        model.scale()
    );
    Ok(())
}
