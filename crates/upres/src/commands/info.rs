use std::io::Write;
use std::path::Path;

use upres_infer::zoo;
use upres_models::int8::META_INT8;
use upres_models::weights::read_metadata;
use upres_models::{Int8Calibration, Source};

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
        // The calibration is a list of ranges; people want its summary.
        if key == META_INT8
            && let Ok(calibration) = Int8Calibration::from_json(value)
        {
            let quantized = calibration.inputs.iter().flatten().count();
            writeln!(
                out,
                "{key}: {quantized} of {} convolutions in INT8, ranges by {} on {} images, \
                 weights rounded by {}",
                calibration.inputs.len(),
                calibration.method,
                calibration.images,
                calibration.rounding
            )?;
        } else if value.contains('\n') {
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
