//! INT8 post-training quantization: calibrating a model's activation ranges on images, and
//! choosing how its weights round.
//!
//! The model runs in `f32` on the calibration images while [`FastOps::calibrating`] records
//! each convolution's input; each range is then the extremes seen ([`RangeMethod::MinMax`]) or
//! a percentile of them that ignores rare outliers ([`RangeMethod::Percentile`]). Weights are
//! quantized per output channel when the engine packs them (see [`upres_kernels::int8`]), to
//! the nearest step, unless [`WeightRounding::Gptq`] has moved them onto that grid first.
//!
//! Convolutions with fewer than [`INT8_MIN_CHANNELS`] input or output channels stay `f32`:
//! those read or write the image itself (its first and last layers), where 8 bits cost the
//! most accuracy, and they are a small share of the work.

use std::collections::HashMap;

use burn::module::{Module, ModuleMapper, Param, ParamId};
use burn::tensor::{Tensor, TensorData};
use upres_image::{Image, UpscaleError, Upscaler};
use upres_kernels::FeatureMap;
use upres_models::{Int8Calibration, SrModel, layer_values};

use crate::fast::FastOps;
use crate::model::ModelUpscaler;

mod gptq;

pub use gptq::PatchMoments;

/// Input and output channels from which a convolution runs in INT8.
pub const INT8_MIN_CHANNELS: usize = 16;

/// Whether a convolution with these channel counts runs in INT8 (see [`INT8_MIN_CHANNELS`]).
pub fn quantizable(channels_in: usize, channels_out: usize) -> bool {
    channels_in >= INT8_MIN_CHANNELS && channels_out >= INT8_MIN_CHANNELS
}

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

/// How the weights of the INT8 convolutions are rounded to 8 bits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WeightRounding {
    /// Each weight to its nearest step, when the engine packs it.
    Nearest,
    /// GPTQ: weight by weight, each rounding error absorbed by the weights not yet rounded,
    /// so that the convolution's outputs on the calibration images, rather than each weight,
    /// stay closest to the `f32` ones; the model's weights move onto their 8-bit grid.
    Gptq,
}

impl std::fmt::Display for WeightRounding {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::Nearest => "nearest",
            Self::Gptq => "GPTQ",
        })
    }
}

/// What one convolution's inputs held: extremes, an evenly strided sample, and, when asked,
/// the second moments of its input patches.
#[derive(Debug, Clone, Default)]
pub struct InputRecorder {
    min: f32,
    max: f32,
    sample: Vec<f32>,
    moments: Option<PatchMoments>,
}

impl InputRecorder {
    /// Also records the patch moments of a convolution of this `kernel` and `pad`.
    pub(crate) fn record_patches(&mut self, x: &FeatureMap, kernel: usize, pad: usize) {
        self.moments
            .get_or_insert_with(|| PatchMoments::new(x.channels(), kernel, pad))
            .record(x);
        self.record(x);
    }

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

/// Makes `model` an INT8 model, calibrated on `images` (taken as the low-resolution inputs
/// it will upscale): its convolutions with at least [`INT8_MIN_CHANNELS`] channels in and out
/// get input ranges chosen by `method`, and their weights are rounded by `rounding`.
pub fn quantize(
    model: &SrModel,
    images: &[Image],
    method: RangeMethod,
    rounding: WeightRounding,
) -> Result<SrModel, UpscaleError> {
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
    let upscaler = ModelUpscaler::with_fast_ops(
        float.clone(),
        FastOps::calibrating(rounding == WeightRounding::Gptq),
    );
    for image in images {
        upscaler.upscale(image, model.scale())?;
    }
    let mut recorded = upscaler
        .into_fast_ops()
        .map(FastOps::recorded_inputs)
        .unwrap_or_default();
    let mut moments = HashMap::new();
    let inputs = model
        .convolutions()
        .iter()
        .map(|conv| {
            let wide = quantizable(conv.channels_in, conv.channels_out);
            let recorder = recorded.remove(&conv.id).filter(|_| wide)?;
            if let Some(patches) = recorder.moments.clone() {
                moments.insert(conv.id, patches);
            }
            Some(recorder.range(method))
        })
        .collect();
    let mut quantized = if moments.is_empty() {
        float
    } else {
        float.map_network(|network| network.map(&mut GptqWeights { moments }))
    };
    quantized.int8 = Some(Int8Calibration {
        method: method.to_string(),
        rounding: rounding.to_string(),
        images: images.len(),
        inputs,
    });
    Ok(quantized)
}

/// Replaces the weights of the convolutions it has moments for by their GPTQ rounding.
struct GptqWeights {
    moments: HashMap<ParamId, PatchMoments>,
}

impl ModuleMapper for GptqWeights {
    fn map_float<const D: usize>(&mut self, param: Param<Tensor<D>>) -> Param<Tensor<D>> {
        let Some(moments) = self.moments.remove(&param.id) else {
            return param;
        };
        param.map(|weight| {
            let dims = weight.dims();
            let rounded = gptq::round_weights(&layer_values(weight.clone()), dims[0], &moments);
            Tensor::from_data(TensorData::new(rounded, dims), &weight.device())
        })
    }
}
