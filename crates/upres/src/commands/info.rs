use std::io::Write;
use std::path::Path;

use upres_infer::zoo;
use upres_models::Source;
use upres_models::weights::read_metadata;

#[derive(clap::Args)]
pub struct Args {
    /// A model file (`.upres`, `.safetensors`) or a built-in model's name.
    model: String,
}

pub fn run(args: Args) -> anyhow::Result<()> {
    let metadata = match zoo::find(&args.model) {
        Some(entry) => entry.metadata()?,
        None => read_metadata(Source::File(Path::new(&args.model)))?,
    };
    let mut keys: Vec<_> = metadata.keys().collect();
    keys.sort();
    let mut out = std::io::stdout().lock();
    for key in keys {
        let value = &metadata[key];
        if value.contains('\n') {
            writeln!(out, "{key}:")?;
            for line in value.lines() {
                writeln!(out, "    {line}")?;
            }
        } else {
            writeln!(out, "{key}: {value}")?;
        }
    }
    Ok(())
}
