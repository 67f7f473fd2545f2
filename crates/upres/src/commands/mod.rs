pub mod bench_infer;
pub mod bench_train;
pub mod downscale;
pub mod eval;
pub mod export;
pub mod import;
pub mod info;
pub mod models;
pub mod train;
pub mod upscale;

use upres_image::Upscaler;
use upres_infer::model::{AlphaMode, open_method};

/// The method a `--model` value stands for.
pub fn method(name: &str, alpha: AlphaMode) -> anyhow::Result<Box<dyn Upscaler>> {
    open_method(name, alpha).map_err(|e| anyhow::anyhow!("{e}"))
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
