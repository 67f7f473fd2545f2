//! Learned perceptual distances (LPIPS) as an evaluation column. The networks live with the
//! models; this crate only needs something that turns two images into a number.

use upres_image::Image;

/// A distance between a restored image and its reference of the same size, lower is closer.
pub trait PerceptualDistance: Sync {
    /// The column it fills, e.g. `lpips_alex`.
    fn name(&self) -> String;

    /// The distance between two RGB images of one size.
    fn distance(&self, restored: &Image, reference: &Image) -> Result<f64, String>;
}
