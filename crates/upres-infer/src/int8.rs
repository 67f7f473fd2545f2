//! INT8 post-training quantization: calibrating a model's activation ranges on images.
//!
//! The model runs in `f32` on the calibration images while [`FastOps::calibrating`] records
//! each convolution's input; each range is then the extremes seen ([`RangeMethod::MinMax`]) or
//! a percentile of them that ignores rare outliers ([`RangeMethod::Percentile`]). Weights are
//! quantized per output channel when the engine packs them (see [`upres_kernels::int8`]).
//!
//! Convolutions with fewer than [`INT8_MIN_CHANNELS`] input or output channels stay `f32`:
//! those read or write the image itself (its first and last layers), where 8 bits cost the
//! most accuracy, and they are a small share of the work.

use upres_image::{Image, UpscaleError, Upscaler};
use upres_kernels::FeatureMap;
use upres_models::{Int8Calibration, SrModel};

use crate::fast::FastOps;
use crate::model::ModelUpscaler;

/// Input and output channels from which a convolution runs in INT8.
pub const INT8_MIN_CHANNELS: usize = 16;

/// Values kept per recorded input for the percentiles: enough for a 99.99th percentile to
/// rest on a few values of each image.
const SAMPLES_PER_INPUT: usize = 1 << 15;

/// How a convolution's input range is chosen from what calibration saw.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum RangeMethod {
    /// The smallest and largest values.
    MinMax,
    /// The `p`-th percentile of the values and its mirror image (`100 - p`), so that the
    /// rarest outliers are clipped and the rest resolved more finely.
    Percentile(f64),
}

impl std::fmt::Display for RangeMethod {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::MinMax => write!(f, "min-max"),
            Self::Percentile(p) => write!(f, "percentile {p}"),
        }
    }
}

/// What one convolution's inputs held: extremes and an evenly strided sample.
#[derive(Debug, Clone, Default)]
pub struct InputRecorder {
    min: f32,
    max: f32,
    sample: Vec<f32>,
}

impl InputRecorder {
    pub(crate) fn record(&mut self, x: &FeatureMap) {
        let count = x.batch() * x.height() * x.width() * x.channels();
        let stride = count.div_ceil(SAMPLES_PER_INPUT).max(1);
        let mut index = 0;
        for img in 0..x.batch() {
            for y in 0..x.height() {
                for &v in x.row(img, y) {
                    self.min = self.min.min(v);
                    self.max = self.max.max(v);
                    if index % stride == 0 {
                        self.sample.push(v);
                    }
                    index += 1;
                }
            }
        }
    }

    /// The range `method` picks.
    pub fn range(&self, method: RangeMethod) -> [f32; 2] {
        match method {
            RangeMethod::MinMax => [self.min, self.max],
            RangeMethod::Percentile(p) => {
                let mut sorted = self.sample.clone();
                sorted.sort_by(f32::total_cmp);
                let at = |q: f64| {
                    let last = sorted.len().saturating_sub(1);
                    sorted
                        .get((q / 100.0 * last as f64).round() as usize)
                        .copied()
                        .unwrap_or(0.0)
                };
                [at(100.0 - p), at(p)]
            }
        }
    }
}

/// Calibrates `model` for INT8 on `images` (taken as the low-resolution inputs it will
/// upscale): the ranges of the inputs of its convolutions with at least
/// [`INT8_MIN_CHANNELS`] channels in and out, chosen by `method`.
pub fn calibrate(
    model: &SrModel,
    images: &[Image],
    method: RangeMethod,
) -> Result<Int8Calibration, UpscaleError> {
    if images.is_empty() {
        return Err("no calibration images".into());
    }
    if let RangeMethod::Percentile(p) = method
        && !(50.0..=100.0).contains(&p)
    {
        return Err(format!("percentile {p} is not between 50 and 100").into());
    }
    let mut float = model.clone();
    float.int8 = None;
    let upscaler = ModelUpscaler::with_fast_ops(float, FastOps::calibrating());
    for image in images {
        upscaler.upscale(image, model.scale())?;
    }
    let mut recorded = upscaler
        .into_fast_ops()
        .map(FastOps::recorded_inputs)
        .unwrap_or_default();
    let inputs = model
        .convolutions()
        .iter()
        .map(|conv| {
            let wide =
                conv.channels_in >= INT8_MIN_CHANNELS && conv.channels_out >= INT8_MIN_CHANNELS;
            let recorder = recorded.remove(&conv.id).filter(|_| wide)?;
            Some(recorder.range(method))
        })
        .collect();
    Ok(Int8Calibration {
        method: method.to_string(),
        images: images.len(),
        inputs,
    })
}
