pub mod downscale;
pub mod eval;
pub mod upscale;

use upres_image::resize::Filter;
use upres_image::{Interpolation, Upscaler};

/// The method a `--model` name stands for.
pub fn method(name: &str) -> anyhow::Result<Box<dyn Upscaler>> {
    match name.parse::<Filter>() {
        Ok(filter) => Ok(Box::new(Interpolation(filter))),
        Err(_) => anyhow::bail!(
            "unknown model '{name}' (available: bicubic, bilinear, lanczos3, nearest)"
        ),
    }
}
