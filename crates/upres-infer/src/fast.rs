//! The fast CPU engine: upres's architectures, as each defines itself once against
//! [`SrOps`], executed by `upres-kernels` on NHWC feature maps.
//!
//! Weights are read from the burn modules the first time a layer runs and kept packed for
//! the kernels, keyed by the parameter's id, so one [`FastOps`] serves every tile of every
//! image a model upscales.
//!
//! For a model with an INT8 calibration ([`SrModel::int8`]) the calibrated convolutions run
//! in 8 bits ([`upres_kernels::int8`]); [`FastOps::calibrating`] records what every
//! convolution's input holds, to make such a calibration ([`crate::int8`]).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use burn::module::ParamId;
use burn::nn::conv::{Conv2d, ConvTranspose2d};
use burn::nn::{BatchNorm, PRelu, PaddingConfig2d};
use upres_kernels::{
    Act, FeatureMap, PackedConv, PackedConvTranspose, QuantizedConv, Quantizer, WinogradConv,
    WinogradInt8Conv, conv_transpose2d, conv2d, conv2d_int8, conv3x3_winograd,
    conv3x3_winograd_int8, pointwise, reshape,
};
use upres_models::{Activation, SrModel, SrOps, Upsample, layer_values as values};

use crate::int8::{InputRecorder, PatchBudget, PatchMoments, quantizable};

/// A layer's parameters in the form the kernels take.
enum Packed {
    Conv(PackedConv),
    Winograd(WinogradConv),
    Int8(QuantizedConv),
    Int8Winograd(WinogradInt8Conv),
    ConvTranspose(PackedConvTranspose),
    /// Per-channel values: PReLU slopes, or batch norm's scale and shift.
    Channels(Vec<f32>, Vec<f32>),
}

/// [`SrOps`] on the CPU kernels of `upres-kernels`.
pub struct FastOps {
    packed: Mutex<HashMap<ParamId, Arc<Packed>>>,
    winograd: bool,
    /// The input quantizers of the convolutions that run in INT8.
    int8: HashMap<ParamId, Quantizer>,
    /// While calibrating: what each convolution's inputs held.
    recorder: Option<Mutex<HashMap<ParamId, InputRecorder>>>,
    /// While calibrating: which convolutions to record the patch moments of.
    patches: Option<PatchBudget>,
}

impl Default for FastOps {
    fn default() -> Self {
        Self {
            packed: Mutex::default(),
            winograd: true,
            int8: HashMap::new(),
            recorder: None,
            patches: None,
        }
    }
}

fn square(kind: &str, size: [usize; 2]) -> usize {
    assert_eq!(
        size[0], size[1],
        "{kind}: the fast engine takes square sizes"
    );
    size[0]
}

/// A convolution's `[channels out, channels in, kernel, padding]`.
fn conv_shape(layer: &Conv2d) -> [usize; 4] {
    assert!(
        layer.stride == [1, 1] && layer.dilation == [1, 1] && layer.groups == 1,
        "the fast engine takes stride-1, undilated, ungrouped convolutions"
    );
    let [co, ci, _, _] = layer.weight.shape().dims();
    let k = square("kernel", layer.kernel_size);
    let pad = match layer.padding {
        PaddingConfig2d::Valid => 0,
        PaddingConfig2d::Explicit(t, l, b, r) if t == l && t == b && t == r => t,
        PaddingConfig2d::Same if k % 2 == 1 => k / 2,
        ref other => panic!("the fast engine takes symmetric padding, not {other:?}"),
    };
    [co, ci, k, pad]
}

/// A convolution's `[channels out, channels in, kernel, padding]`, weights and bias.
fn conv_parts(layer: &Conv2d) -> ([usize; 4], Vec<f32>, Option<Vec<f32>>) {
    let bias = layer.bias.as_ref().map(|b| values(b.val()));
    (conv_shape(layer), values(layer.weight.val()), bias)
}

/// Whether a convolution of these shapes runs as Winograd F(2x2, 3x3): it pays off once the
/// channel products dominate its transforms.
fn suits_winograd([co, ci, k, pad]: [usize; 4]) -> bool {
    k == 3 && pad == 1 && ci >= WINOGRAD_MIN_CHANNELS && co >= WINOGRAD_MIN_CHANNELS
}

fn pack_conv(layer: &Conv2d, winograd: bool) -> Packed {
    let (shape @ [co, ci, k, pad], weight, bias) = conv_parts(layer);
    if winograd && suits_winograd(shape) {
        return Packed::Winograd(WinogradConv::new(&weight, bias.as_deref(), co, ci));
    }
    Packed::Conv(PackedConv::new(&weight, bias.as_deref(), co, ci, k, pad))
}

fn pack_int8(layer: &Conv2d, input: Quantizer, winograd: bool) -> Packed {
    let (shape @ [co, ci, k, pad], weight, bias) = conv_parts(layer);
    let conv = QuantizedConv::new(&weight, bias.as_deref(), co, ci, k, pad, input);
    if winograd && suits_winograd(shape) {
        return Packed::Int8Winograd(WinogradInt8Conv::new(&conv));
    }
    Packed::Int8(conv)
}

/// Input and output channels from which 3x3 convolutions run as Winograd F(2x2, 3x3).
const WINOGRAD_MIN_CHANNELS: usize = 16;

fn pack_conv_transpose(layer: &ConvTranspose2d) -> Packed {
    assert!(
        layer.dilation == [1, 1] && layer.groups == 1,
        "the fast engine takes undilated, ungrouped transposed convolutions"
    );
    let [ci, co, _, _] = layer.weight.val().dims();
    let bias = layer.bias.as_ref().map(|b| values(b.val()));
    Packed::ConvTranspose(PackedConvTranspose::new(
        &values(layer.weight.val()),
        bias.as_deref(),
        ci,
        co,
        square("kernel", layer.kernel_size),
        square("stride", layer.stride),
        square("padding", layer.padding),
        square("output padding", layer.padding_out),
    ))
}

fn pack_batch_norm(layer: &BatchNorm) -> Packed {
    let gamma = values(layer.gamma.val());
    let beta = values(layer.beta.val());
    let mean = values(layer.running_mean.value());
    let var = values(layer.running_var.value());
    let scale: Vec<f32> = gamma
        .iter()
        .zip(&var)
        .map(|(g, v)| g / (v + layer.epsilon as f32).sqrt())
        .collect();
    let shift = beta
        .iter()
        .zip(&mean)
        .zip(&scale)
        .map(|((b, m), s)| b - m * s)
        .collect();
    Packed::Channels(scale, shift)
}

impl FastOps {
    /// An engine with nothing packed yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// An engine that runs every convolution directly, without Winograd (to measure what
    /// Winograd brings).
    pub fn direct_only() -> Self {
        Self {
            winograd: false,
            ..Self::default()
        }
    }

    /// The engine for `model`: its calibrated convolutions in INT8 if it is an INT8 model,
    /// the rest (or all) in `f32`.
    pub fn for_model(model: &SrModel) -> Self {
        let Some(calibration) = &model.int8 else {
            return Self::new();
        };
        let int8 = model
            .convolutions()
            .iter()
            .zip(&calibration.inputs)
            .filter_map(|(conv, range)| {
                range.map(|[lo, hi]| (conv.id, Quantizer::from_range(lo, hi)))
            })
            .collect();
        Self {
            int8,
            ..Self::default()
        }
    }

    /// An `f32` engine that records what each convolution's input holds
    /// ([`FastOps::recorded_inputs`]), with the patch moments GPTQ needs as `patches` says.
    pub(crate) fn calibrating(patches: Option<PatchBudget>) -> Self {
        Self {
            recorder: Some(Mutex::default()),
            patches,
            ..Self::default()
        }
    }

    /// What each convolution's inputs held, by weight id, since [`FastOps::calibrating`].
    pub fn recorded_inputs(self) -> HashMap<ParamId, InputRecorder> {
        self.recorder
            .map(|r| r.into_inner().unwrap_or_else(|e| e.into_inner()))
            .unwrap_or_default()
    }

    fn packed(&self, id: ParamId, pack: impl FnOnce() -> Packed) -> Arc<Packed> {
        let mut cache = self.packed.lock().unwrap_or_else(|e| e.into_inner());
        cache.entry(id).or_insert_with(|| Arc::new(pack())).clone()
    }
}

impl SrOps for FastOps {
    type Tensor = FeatureMap;

    fn conv2d(&self, layer: &Conv2d, x: FeatureMap) -> FeatureMap {
        let id = layer.weight.id;
        if let Some(recorder) = &self.recorder {
            let [co, ci, k, pad] = conv_shape(layer);
            let mut inputs = recorder.lock().unwrap_or_else(|e| e.into_inner());
            let used: usize = inputs.values().map(InputRecorder::moment_bytes).sum();
            let input = inputs.entry(id).or_default();
            let wanted = self.patches.as_ref().is_some_and(|budget| {
                quantizable(ci, co)
                    && !budget.skip.contains(&id)
                    && (input.moment_bytes() > 0
                        || used == 0
                        || used + PatchMoments::bytes_for(ci, k) <= budget.bytes)
            });
            if wanted {
                input.record_patches(&x, k, pad);
            } else {
                input.record(&x);
            }
        }
        let packed = match self.int8.get(&id) {
            Some(&input) => self.packed(id, || pack_int8(layer, input, self.winograd)),
            None => self.packed(id, || pack_conv(layer, self.winograd)),
        };
        match &*packed {
            Packed::Int8(conv) => conv2d_int8(&x, conv),
            Packed::Int8Winograd(conv) => conv3x3_winograd_int8(&x, conv),
            Packed::Conv(conv) => conv2d(x, conv),
            Packed::Winograd(conv) => conv3x3_winograd(x, conv),
            _ => unreachable!("a convolution's id packs a convolution"),
        }
    }

    fn conv_transpose2d(&self, layer: &ConvTranspose2d, x: FeatureMap) -> FeatureMap {
        match &*self.packed(layer.weight.id, || pack_conv_transpose(layer)) {
            Packed::ConvTranspose(conv) => conv_transpose2d(x, conv),
            _ => unreachable!("a transposed convolution's id packs one"),
        }
    }

    fn activation(&self, act: Activation<'_>, x: FeatureMap) -> FeatureMap {
        let act = match act {
            Activation::Relu => Act::Relu,
            Activation::Tanh => Act::Tanh,
            Activation::Sigmoid => Act::Sigmoid,
            Activation::LeakyRelu(slope) => Act::LeakyRelu(slope as f32),
            Activation::PRelu(layer) => {
                let packed = self.packed(layer.alpha.id, || prelu_slopes(layer));
                match &*packed {
                    Packed::Channels(slopes, _) => Act::PRelu(slopes.clone()),
                    _ => unreachable!("a PReLU's id packs its slopes"),
                }
            }
        };
        pointwise::activate(x, &act)
    }

    fn batch_norm(&self, layer: &BatchNorm, x: FeatureMap) -> FeatureMap {
        match &*self.packed(layer.gamma.id, || pack_batch_norm(layer)) {
            Packed::Channels(scale, shift) => pointwise::affine_per_channel(x, scale, shift),
            _ => unreachable!("a batch norm's id packs its affine form"),
        }
    }

    fn add(&self, a: FeatureMap, b: FeatureMap) -> FeatureMap {
        pointwise::add(a, b)
    }

    fn mul_scalar(&self, x: FeatureMap, factor: f64) -> FeatureMap {
        pointwise::scale(x, factor as f32)
    }

    fn add_per_channel(&self, x: FeatureMap, offsets: &[f64]) -> FeatureMap {
        let shift: Vec<f32> = offsets.iter().map(|&v| v as f32).collect();
        pointwise::affine_per_channel(x, &vec![1.0; shift.len()], &shift)
    }

    fn global_mean(&self, x: FeatureMap) -> FeatureMap {
        reshape::global_mean(&x)
    }

    fn mul_per_channel(&self, x: FeatureMap, gate: FeatureMap) -> FeatureMap {
        reshape::mul_per_channel(x, &gate)
    }

    fn concat_channels(&self, xs: &[FeatureMap]) -> FeatureMap {
        reshape::concat_channels(xs)
    }

    fn pixel_shuffle(&self, x: FeatureMap, factor: usize) -> FeatureMap {
        reshape::pixel_shuffle(&x, factor)
    }

    fn pixel_unshuffle(&self, x: FeatureMap, factor: usize) -> FeatureMap {
        reshape::pixel_unshuffle(&x, factor)
    }

    fn upsample(&self, x: FeatureMap, factor: usize, mode: Upsample) -> FeatureMap {
        match mode {
            Upsample::Nearest => reshape::upsample_nearest(&x, factor),
            Upsample::Bilinear => reshape::upsample_bilinear(&x, factor),
        }
    }

    fn rescale_bicubic(&self, x: FeatureMap, to: usize, from: usize) -> FeatureMap {
        let [_, _, h, w] = x.dims();
        reshape::resize_bicubic(&x, h * to / from, w * to / from)
    }
}

fn prelu_slopes(layer: &PRelu) -> Packed {
    Packed::Channels(values(layer.alpha.val()), Vec::new())
}
