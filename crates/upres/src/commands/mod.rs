pub mod downscale;
pub mod eval;
pub mod upscale;

use upres_image::{Bicubic, Upscaler};

/// The method a `--model` name stands for.
pub fn method(name: &str) -> anyhow::Result<Box<dyn Upscaler>> {
    match name {
        "bicubic" => Ok(Box::new(Bicubic)),
        other => anyhow::bail!("unknown model '{other}' (available: bicubic)"),
    }
}
