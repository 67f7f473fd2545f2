pub mod bench_infer;
pub mod bench_train;
pub mod downscale;
pub mod eval;
pub mod export;
pub mod import;
pub mod info;
pub mod models;
pub mod quantize;
pub mod report;
pub mod search;
pub mod serve;
pub mod text;
pub mod train;
pub mod upscale;
pub mod video;

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use anyhow::Context;
use burn::tensor::Device;
use upres_image::Upscaler;
use upres_infer::model::{AlphaMode, find_model, open_method};
use upres_infer::perceptual::LpipsDistance;
use upres_models::SrModel;
use upres_models::perceptual::{LpipsNet, weights_dir};

/// The `--model` value, or else the best built-in model at `scale` (bicubic where the zoo
/// has none).
pub fn model_or_default(model: Option<&str>, scale: usize) -> &str {
    model.unwrap_or_else(|| upres_infer::zoo::default_for(scale).map_or("bicubic", |m| m.name))
}

/// The method a `--model` value stands for.
pub fn method(name: &str, alpha: AlphaMode) -> anyhow::Result<Box<dyn Upscaler>> {
    open_method(name, alpha).map_err(|e| anyhow::anyhow!("{e}"))
}

/// A flag the first Ctrl-C sets, asking a training loop to checkpoint and stop; a second
/// Ctrl-C ends the process at once.
pub fn stop_on_ctrl_c() -> anyhow::Result<Arc<AtomicBool>> {
    let stop = Arc::new(AtomicBool::new(false));
    let flag = stop.clone();
    ctrlc::set_handler(move || {
        if flag.swap(true, Ordering::SeqCst) {
            std::process::exit(130);
        }
        eprintln!("\nstopping: saving a checkpoint (Ctrl-C again to quit now)");
    })
    .context("cannot install the Ctrl-C handler")?;
    Ok(stop)
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

/// The optional LPIPS column of `eval` and `report`.
#[derive(clap::Args)]
pub struct LpipsArgs {
    /// Also report LPIPS v0.1 with this trunk (alex, the authors' default, or vgg), on RGB
    /// with the same border crop.
    #[arg(long)]
    lpips: Option<LpipsNet>,
    /// Folder of the converted ImageNet weights (default: $UPRES_WEIGHTS_DIR, else
    /// ~/.local/share/upres/weights; `tools/fetch_perceptual_weights.sh DIR` makes it).
    #[arg(long)]
    weights_dir: Option<PathBuf>,
}

impl LpipsArgs {
    /// The distance asked for, with its weights loaded.
    pub fn load(&self) -> anyhow::Result<Option<LpipsDistance>> {
        let Some(net) = self.lpips else {
            return Ok(None);
        };
        let dir = weights_dir(self.weights_dir.as_deref());
        Ok(Some(LpipsDistance::load(net, &dir)?))
    }
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
