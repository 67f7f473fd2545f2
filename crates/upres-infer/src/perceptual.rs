//! LPIPS as an evaluation column: [`upres_models::perceptual::Lpips`] behind the metrics
//! crate's [`PerceptualDistance`].

use std::path::Path;

use burn::tensor::{Device, Tensor};
use upres_image::Image;
use upres_metrics::PerceptualDistance;
use upres_models::perceptual::{Lpips, LpipsNet, PerceptualError};

use crate::model::image_tensor;

/// LPIPS on the flex (CPU) backend.
pub struct LpipsDistance {
    lpips: Lpips,
    device: Device,
}

impl LpipsDistance {
    /// Loads LPIPS-`net` from the converted weights in `weights_dir`.
    pub fn load(net: LpipsNet, weights_dir: &Path) -> Result<Self, PerceptualError> {
        let device = Device::flex();
        Ok(Self {
            lpips: Lpips::load(net, weights_dir, &device)?,
            device,
        })
    }
}

impl PerceptualDistance for LpipsDistance {
    fn name(&self) -> String {
        format!("lpips_{}", self.lpips.net())
    }

    fn distance(&self, restored: &Image, reference: &Image) -> Result<f64, String> {
        let a = rgb_tensor(restored, &self.device);
        let b = rgb_tensor(reference, &self.device);
        let distance = self.lpips.forward(a, b).map_err(|e| e.to_string())?;
        let values = distance
            .into_data()
            .try_into_vec::<f32>()
            .map_err(|e| format!("{e:?}"))?;
        Ok(f64::from(values[0]))
    }
}

/// A 1x3xHxW batch in [0, 1] (gray expanded, alpha dropped).
fn rgb_tensor(image: &Image, device: &Device) -> Tensor<4> {
    let (rgb, _alpha) = image.to_rgb().split_alpha();
    image_tensor(&rgb, device)
}
