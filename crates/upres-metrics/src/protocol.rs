//! How the SR papers turn two images into one number: channel, border crop, rounding.

use crate::quality::{psnr, ssim};
use upres_image::color::{LumaRounding, luma, samples_255};
use upres_image::{Image, ImageError};

/// Which samples are compared.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Channel {
    /// BT.601 luma, as the SR papers report.
    Y,
    /// Every color channel (BasicSR's default report); SSIM is averaged over channels.
    Rgb,
}

impl std::str::FromStr for Channel {
    type Err = ImageError;

    fn from_str(s: &str) -> Result<Self, ImageError> {
        match s.to_ascii_lowercase().as_str() {
            "y" => Ok(Channel::Y),
            "rgb" => Ok(Channel::Rgb),
            other => Err(ImageError::InvalidArgument(format!(
                "unknown channel '{other}' (expected y or rgb)"
            ))),
        }
    }
}

/// The comparison protocol: channel, pixels cropped from every border, luma rounding.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Protocol {
    pub channel: Channel,
    pub crop_border: usize,
    pub luma_rounding: LumaRounding,
}

impl Protocol {
    /// The field's protocol at a scale: Y of MATLAB's `rgb2ycbcr`, `scale` pixels cropped.
    pub fn papers(scale: usize) -> Self {
        Self {
            channel: Channel::Y,
            crop_border: scale,
            luma_rounding: LumaRounding::Matlab,
        }
    }
}

/// PSNR (dB) and SSIM of one comparison.
#[derive(Clone, Copy, Debug, PartialEq, serde::Serialize)]
pub struct Scores {
    pub psnr: f64,
    pub ssim: f64,
}

/// Compares a restored image with its reference under `protocol`. Alpha is ignored; gray
/// images count as RGB with equal channels.
pub fn compare(
    restored: &Image,
    reference: &Image,
    protocol: Protocol,
) -> Result<Scores, ImageError> {
    let (w, h) = (reference.width(), reference.height());
    if (restored.width(), restored.height()) != (w, h) {
        return Err(ImageError::InvalidArgument(format!(
            "cannot compare a {}x{} image with a {w}x{h} reference",
            restored.width(),
            restored.height()
        )));
    }
    let b = protocol.crop_border;
    if w <= 2 * b || h <= 2 * b {
        return Err(ImageError::InvalidArgument(format!(
            "a {w}x{h} image has nothing left after cropping {b} pixels from each border"
        )));
    }
    let cropped = |img: &Image| {
        let (color, _alpha) = img.to_rgb().split_alpha();
        color.crop(b, b, w - 2 * b, h - 2 * b)
    };
    let (restored, reference) = (cropped(restored)?, cropped(reference)?);
    let (cw, ch) = (reference.width(), reference.height());
    Ok(match protocol.channel {
        Channel::Y => {
            let a = luma(&restored, protocol.luma_rounding);
            let r = luma(&reference, protocol.luma_rounding);
            Scores {
                psnr: psnr(&a, &r),
                ssim: ssim(&a, &r, cw, ch),
            }
        }
        Channel::Rgb => {
            let a = samples_255(&restored);
            let r = samples_255(&reference);
            let plane =
                |s: &[f64], c: usize| s.iter().skip(c).step_by(3).copied().collect::<Vec<_>>();
            let ssim_mean = (0..3)
                .map(|c| ssim(&plane(&a, c), &plane(&r, c), cw, ch))
                .sum::<f64>()
                / 3.0;
            Scores {
                psnr: psnr(&a, &r),
                ssim: ssim_mean,
            }
        }
    })
}
