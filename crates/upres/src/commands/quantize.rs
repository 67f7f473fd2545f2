use std::path::PathBuf;

use anyhow::Context;
use upres_image::io;
use upres_infer::int8::{RangeMethod, WeightRounding, quantize};

#[derive(Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum Method {
    /// The extremes seen.
    MinMax,
    /// `--percentile` and its mirror image, clipping the rarest outliers.
    Percentile,
}

#[derive(Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum Rounding {
    /// GPTQ: each weight's rounding error absorbed by the weights rounded after it, so that
    /// outputs on the calibration images stay closest to the `f32` model's.
    Gptq,
    /// Each weight to its nearest step.
    Nearest,
}

#[derive(clap::Args)]
pub struct Args {
    /// The model: a model file, a training run or a built-in model.
    #[arg(short, long)]
    model: String,
    /// A folder of calibration images (searched recursively), like the low-resolution
    /// images the model will upscale.
    #[arg(long)]
    calib: PathBuf,
    /// How each activation range is chosen.
    #[arg(long, value_enum, default_value = "percentile")]
    method: Method,
    /// The percentile of `--method percentile`.
    #[arg(long, default_value_t = 99.99)]
    percentile: f64,
    /// How the weights are rounded to 8 bits.
    #[arg(long, value_enum, default_value = "gptq")]
    rounding: Rounding,
    /// Calibrate on at most this many images (the first by name).
    #[arg(long, default_value_t = 64)]
    max_images: usize,
    /// The INT8 model file to write (`.upres`).
    #[arg(short, long)]
    output: PathBuf,
    /// Replace OUTPUT if it exists.
    #[arg(long)]
    overwrite: bool,
}

pub fn run(args: Args) -> anyhow::Result<()> {
    anyhow::ensure!(
        args.output.extension().is_some_and(|e| e == "upres"),
        "{}: the output is a .upres model file",
        args.output.display()
    );
    anyhow::ensure!(
        args.overwrite || !args.output.exists(),
        "{} exists: pass --overwrite to replace it",
        args.output.display()
    );
    let model = super::trained_model(&args.model)?;
    let files = io::list_images(&args.calib)?;
    anyhow::ensure!(!files.is_empty(), "{}: no images", args.calib.display());
    let images = files
        .iter()
        .take(args.max_images)
        .map(|path| Ok(io::read(path)?.image))
        .collect::<anyhow::Result<Vec<_>>>()?;
    let method = match args.method {
        Method::MinMax => RangeMethod::MinMax,
        Method::Percentile => RangeMethod::Percentile(args.percentile),
    };
    let rounding = match args.rounding {
        Rounding::Gptq => WeightRounding::Gptq,
        Rounding::Nearest => WeightRounding::Nearest,
    };
    let model = quantize(&model, &images, method, rounding).map_err(|e| anyhow::anyhow!("{e}"))?;
    let calibration = model
        .int8
        .as_ref()
        .expect("a quantized model is calibrated");
    let convolutions = model.convolutions();
    let int8_macs: u64 = convolutions
        .iter()
        .zip(&calibration.inputs)
        .filter(|(_, range)| range.is_some())
        .map(|(conv, _)| conv.multiply_adds)
        .sum();
    let all_macs: u64 = convolutions.iter().map(|c| c.multiply_adds).sum();
    let quantized = calibration.inputs.iter().flatten().count();
    let extra = carried_metadata(&args.model)?;
    let mut pairs: Vec<(&str, &str)> = extra
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    pairs.push(("upres.quantized_from", &args.model));
    let temp = args.output.with_extension("upres.tmp");
    model.save_with_metadata(&temp, &pairs)?;
    std::fs::rename(&temp, &args.output).with_context(|| format!("{}", args.output.display()))?;
    println!(
        "{quantized} of {} convolutions in INT8 ({:.1}% of the multiply-adds), calibrated on {} \
         images ({method}, weights rounded by {rounding})",
        convolutions.len(),
        100.0 * int8_macs as f64 / all_macs.max(1) as f64,
        images.len()
    );
    println!("wrote {}", args.output.display());
    Ok(())
}

/// The source model's metadata that describes it beyond what the model writes itself (the
/// recipe, its scores), to carry into the quantized file.
fn carried_metadata(name: &str) -> anyhow::Result<Vec<(String, String)>> {
    let metadata = match upres_infer::zoo::find(name) {
        Some(entry) => entry.metadata()?,
        None => {
            let file = upres_infer::model::weights_file(std::path::Path::new(name))
                .map_err(|e| anyhow::anyhow!("{e}"))?;
            upres_models::weights::read_safetensors_metadata(&file)?
        }
    };
    let own = [
        upres_models::registry::META_MODEL,
        upres_models::registry::META_SCALE,
        upres_models::registry::META_COLOR,
        upres_models::int8::META_INT8,
    ];
    let mut pairs: Vec<_> = metadata
        .into_iter()
        .filter(|(key, _)| !own.contains(&key.as_str()))
        .collect();
    pairs.sort();
    Ok(pairs)
}
