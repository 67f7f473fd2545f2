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

use std::collections::{HashMap, HashSet};

use burn::module::{Module, ModuleMapper, ModuleVisitor, Param, ParamId};
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
    /// The memory its patch moments take.
    pub(crate) fn moment_bytes(&self) -> usize {
        self.moments.as_ref().map_or(0, PatchMoments::bytes)
    }

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

/// The most memory the patch moments of one calibration pass take: a network whose moments
/// need more (a large RRDBNet's reach 4 GB) gets several passes, each rounding the
/// convolutions whose moments fitted.
const MOMENT_BYTES: usize = 1 << 30;

/// Which convolutions a calibrating engine records patch moments for: every INT8 one not in
/// `skip`, in the order met, while their moments fit in `bytes` (the first always does).
#[derive(Debug, Clone, Default)]
pub(crate) struct PatchBudget {
    pub skip: HashSet<ParamId>,
    pub bytes: usize,
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
    quantize_within(model, images, method, rounding, MOMENT_BYTES)
}

/// [`quantize`] with at most `moment_bytes` of patch moments per calibration pass.
fn quantize_within(
    model: &SrModel,
    images: &[Image],
    method: RangeMethod,
    rounding: WeightRounding,
    moment_bytes: usize,
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
    let convolutions = model.convolutions();
    let mut inputs: Option<Vec<Option<[f32; 2]>>> = None;
    let mut rounded = HashMap::new();
    let mut budget = (rounding == WeightRounding::Gptq).then(|| PatchBudget {
        skip: HashSet::new(),
        bytes: moment_bytes,
    });
    loop {
        let mut recorded = calibration_pass(&float, images, budget.clone())?;
        let ranges = inputs.get_or_insert_with(|| {
            convolutions
                .iter()
                .map(|conv| {
                    let wide = quantizable(conv.channels_in, conv.channels_out);
                    let recorder = recorded.get(&conv.id).filter(|_| wide)?;
                    Some(recorder.range(method))
                })
                .collect()
        });
        let Some(budget) = budget.as_mut() else {
            break;
        };
        let moments: HashMap<ParamId, PatchMoments> = recorded
            .iter_mut()
            .filter_map(|(id, recorder)| Some((*id, recorder.moments.take()?)))
            .collect();
        if moments.is_empty() {
            break;
        }
        budget.skip.extend(moments.keys().copied());
        let mut rounding = GptqRounding {
            moments,
            rounded: &mut rounded,
        };
        float.network.visit(&mut rounding);
        let left = convolutions
            .iter()
            .zip(ranges.iter())
            .any(|(conv, range)| range.is_some() && !budget.skip.contains(&conv.id));
        if !left {
            break;
        }
    }
    let mut quantized = if rounded.is_empty() {
        float
    } else {
        float.map_network(|network| network.map(&mut ReplaceWeights { values: rounded }))
    };
    quantized.int8 = Some(Int8Calibration {
        method: method.to_string(),
        rounding: rounding.to_string(),
        images: images.len(),
        inputs: inputs.unwrap_or_default(),
    });
    Ok(quantized)
}

/// Runs `float` over `images` on a calibrating engine: what each convolution's inputs held.
fn calibration_pass(
    float: &SrModel,
    images: &[Image],
    patches: Option<PatchBudget>,
) -> Result<HashMap<ParamId, InputRecorder>, UpscaleError> {
    let upscaler = ModelUpscaler::with_fast_ops(float.clone(), FastOps::calibrating(patches));
    for image in images {
        upscaler.upscale(image, float.scale())?;
    }
    Ok(upscaler
        .into_fast_ops()
        .map(FastOps::recorded_inputs)
        .unwrap_or_default())
}

/// GPTQ-rounds the weights of the convolutions it has moments for, into `rounded`.
struct GptqRounding<'a> {
    moments: HashMap<ParamId, PatchMoments>,
    rounded: &'a mut HashMap<ParamId, Vec<f32>>,
}

impl ModuleVisitor for GptqRounding<'_> {
    fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
        if let Some(moments) = self.moments.remove(&param.id) {
            let weight = param.val();
            let channels_out = weight.dims()[0];
            let values = gptq::round_weights(&layer_values(weight), channels_out, &moments);
            self.rounded.insert(param.id, values);
        }
    }
}

/// Replaces the values of the parameters it holds values for.
struct ReplaceWeights {
    values: HashMap<ParamId, Vec<f32>>,
}

impl ModuleMapper for ReplaceWeights {
    fn map_float<const D: usize>(&mut self, param: Param<Tensor<D>>) -> Param<Tensor<D>> {
        let Some(values) = self.values.remove(&param.id) else {
            return param;
        };
        param.map(|weight| {
            Tensor::from_data(TensorData::new(values, weight.dims()), &weight.device())
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::tensor::Device;
    use upres_image::{Depth, Layout};

    /// Every float parameter's values, in the module's order.
    struct Values(Vec<Vec<f32>>);

    impl ModuleVisitor for Values {
        fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
            self.0.push(layer_values(param.val()));
        }
    }

    fn values(model: &SrModel) -> Vec<Vec<f32>> {
        let mut values = Values(Vec::new());
        model.network.visit(&mut values);
        values.0
    }

    #[test]
    fn gptq_rounds_the_same_in_one_pass_or_one_convolution_per_pass() {
        let device = Device::flex();
        let model = upres_models::build("edsr-baseline", 2, &device).unwrap();
        let images: Vec<Image> = (0..2)
            .map(|n| {
                let data = (0..20 * 16 * 3)
                    .map(|i| ((i * (37 + n) + i / 60 * 11) % 256) as f32)
                    .collect();
                Image::new(20, 16, Layout::Rgb, Depth::U8, data).unwrap()
            })
            .collect();
        let quantize = |bytes| {
            quantize_within(
                &model,
                &images,
                RangeMethod::MinMax,
                WeightRounding::Gptq,
                bytes,
            )
            .unwrap()
        };
        let (one, many) = (quantize(MOMENT_BYTES), quantize(1));
        let calibration = one.int8.clone().unwrap();
        assert_eq!(Some(&calibration), many.int8.as_ref());
        assert_eq!(calibration.rounding, "GPTQ");
        assert!(
            calibration.inputs.iter().flatten().count() > 30,
            "EDSR's body is INT8"
        );
        assert_eq!(values(&one), values(&many));
        assert_ne!(values(&one), values(&model), "GPTQ moved the weights");
    }
}
