pub mod bench_infer;
pub mod bench_train;
pub mod downscale;
pub mod eval;
pub mod export;
pub mod import;
pub mod info;
pub mod models;
pub mod quantize;
pub mod train;
pub mod upscale;

use burn::tensor::Device;
use upres_image::Upscaler;
use upres_infer::model::{AlphaMode, find_model, open_method};
use upres_models::SrModel;

/// The method a `--model` value stands for.
pub fn method(name: &str, alpha: AlphaMode) -> anyhow::Result<Box<dyn Upscaler>> {
    open_method(name, alpha).map_err(|e| anyhow::anyhow!("{e}"))
}

/// The trained model `name` stands for (a built-in model, a model file or a training run),
/// on the CPU.
pub fn trained_model(name: &str) -> anyhow::Result<SrModel> {
    find_model(name, &Device::flex())
        .map_err(|e| anyhow::anyhow!("{e}"))?
        .ok_or_else(|| {
            anyhow::anyhow!("'{name}' is neither a built-in model nor a model file or training run")
        })
}

/// The architecture a bench command times, with random weights (speed does not depend on
/// them).
#[derive(clap::Args)]
pub struct BenchArchitecture {
    /// Registry name of the model.
    #[arg(short, long, default_value = "edsr-baseline")]
    pub model: String,
    #[arg(short, long, default_value_t = 4)]
    pub scale: usize,
}
