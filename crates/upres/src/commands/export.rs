use std::path::PathBuf;

#[derive(Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum Format {
    /// One `.upres` model file (safetensors with the recipe and scores in its metadata).
    Upres,
    /// An ONNX graph (opset 17, dynamic batch, height and width).
    Onnx,
}

#[derive(clap::Args)]
pub struct Args {
    /// A training run's folder (for `.upres`; also accepted by `-m`).
    run: Option<PathBuf>,
    /// The model to export to ONNX: a built-in model, a model file or a training run.
    #[arg(short, long)]
    model: Option<String>,
    /// The file to write.
    #[arg(short, long)]
    output: PathBuf,
    /// The format; by default the output's extension (`.upres` or `.onnx`).
    #[arg(long, value_enum)]
    format: Option<Format>,
}

pub fn run(args: Args) -> anyhow::Result<()> {
    let extension = args.output.extension().and_then(|e| e.to_str());
    let format = match (args.format, extension) {
        (Some(format), _) => format,
        (None, Some("upres")) => Format::Upres,
        (None, Some("onnx")) => Format::Onnx,
        _ => anyhow::bail!(
            "{}: name a .upres or .onnx file, or pass --format",
            args.output.display()
        ),
    };
    match format {
        Format::Upres => {
            let run = args
                .run
                .ok_or_else(|| anyhow::anyhow!("a .upres file is exported from a training run's folder: upres export RUN -o FILE.upres"))?;
            upres_train::export_run(&run, &args.output)?;
        }
        Format::Onnx => {
            let name = match (&args.model, &args.run) {
                (Some(model), _) => model.clone(),
                (None, Some(run)) => run.display().to_string(),
                (None, None) => anyhow::bail!("name the model to export: -m MODEL"),
            };
            let model = super::trained_model(&name)?;
            upres_export::export_onnx(&model, &args.output)?;
        }
    }
    println!("wrote {}", args.output.display());
    Ok(())
}
