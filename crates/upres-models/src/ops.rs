//! The operations SR networks are made of, as a trait.
//!
//! Each architecture writes its forward pass once, against [`SrOps`]. [`BurnOps`] runs it on
//! burn tensors (training, autodiff, every backend); other implementations run the same
//! definition with the same weights elsewhere: the fast CPU engine of `upres-infer`, or an
//! exporter that records the operations as a graph. Layers are passed as burn modules so
//! that each implementation reads their weights and options itself.

use burn::module::{Param, ParamId};
use burn::nn::conv::{Conv2d, ConvTranspose2d};
use burn::nn::{BatchNorm, PRelu, PaddingConfig2d, PixelShuffleConfig, PixelUnshuffleConfig};
use burn::tensor::activation::{leaky_relu, prelu, relu, sigmoid, tanh};
use burn::tensor::module::{conv_transpose2d, conv2d, interpolate};
use burn::tensor::ops::{ConvOptions, ConvTransposeOptions, InterpolateMode, InterpolateOptions};
use burn::tensor::{FloatDType, Tensor, TensorData};

/// The values of a layer's parameter or buffer, as `f32` in row-major order: what the
/// implementations of [`SrOps`] outside burn read from the modules they are given.
pub fn layer_values<const D: usize>(tensor: Tensor<D>) -> Vec<f32> {
    tensor
        .into_data()
        .convert::<f32>()
        .try_into_vec::<f32>()
        .expect("f32 data after conversion")
}

/// A pointwise activation.
#[derive(Debug, Clone, Copy)]
pub enum Activation<'a> {
    /// `max(x, 0)`.
    Relu,
    /// Hyperbolic tangent.
    Tanh,
    /// Logistic sigmoid.
    Sigmoid,
    /// `x` if positive, else `slope * x`.
    LeakyRelu(f64),
    /// Leaky ReLU with a learned slope per channel (or one shared slope).
    PRelu(&'a PRelu),
}

/// How [`SrOps::upsample`] interpolates (PyTorch's `F.interpolate`, `align_corners=False`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Upsample {
    /// Each pixel repeated `factor x factor` times.
    Nearest,
    /// Half-pixel centres, source `(dst + 0.5) / factor - 0.5` clamped at 0.
    Bilinear,
}

/// The operations of upres's architectures on NCHW tensors.
pub trait SrOps {
    /// A batch of feature maps.
    type Tensor: Clone;

    /// A 2-D convolution with the layer's weights, bias and options.
    fn conv2d(&self, layer: &Conv2d, x: Self::Tensor) -> Self::Tensor;
    /// A transposed 2-D convolution with the layer's weights, bias and options.
    fn conv_transpose2d(&self, layer: &ConvTranspose2d, x: Self::Tensor) -> Self::Tensor;
    /// A pointwise activation.
    fn activation(&self, act: Activation<'_>, x: Self::Tensor) -> Self::Tensor;
    /// Batch normalisation (running statistics at inference).
    fn batch_norm(&self, layer: &BatchNorm, x: Self::Tensor) -> Self::Tensor;
    /// `a + b`, same shapes.
    fn add(&self, a: Self::Tensor, b: Self::Tensor) -> Self::Tensor;
    /// `x * factor`.
    fn mul_scalar(&self, x: Self::Tensor, factor: f64) -> Self::Tensor;
    /// Adds `offsets[c]` to every value of channel `c`.
    fn add_per_channel(&self, x: Self::Tensor, offsets: &[f64]) -> Self::Tensor;
    /// The mean of each channel over height and width: `[N, C, 1, 1]`.
    fn global_mean(&self, x: Self::Tensor) -> Self::Tensor;
    /// `x * gate`, with `gate` of shape `[N, C, 1, 1]` (channel attention).
    fn mul_per_channel(&self, x: Self::Tensor, gate: Self::Tensor) -> Self::Tensor;
    /// Concatenation along channels (borrowed: dense blocks concatenate the same maps again
    /// and again, and the CPU engine's maps are not cheap to clone).
    fn concat_channels(&self, xs: &[Self::Tensor]) -> Self::Tensor;
    /// `[N, C * r^2, H, W]` to `[N, C, H * r, W * r]`.
    fn pixel_shuffle(&self, x: Self::Tensor, factor: usize) -> Self::Tensor;
    /// `[N, C, H * r, W * r]` to `[N, C * r^2, H, W]`.
    fn pixel_unshuffle(&self, x: Self::Tensor, factor: usize) -> Self::Tensor;
    /// Upsampling by an integer factor.
    fn upsample(&self, x: Self::Tensor, factor: usize, mode: Upsample) -> Self::Tensor;
    /// Resizing by `to / from` (sides divisible by `from`) with PyTorch's and ncnn's bicubic:
    /// a = -0.75, half-pixel centres, edges clamped, no antialiasing.
    fn rescale_bicubic(&self, x: Self::Tensor, to: usize, from: usize) -> Self::Tensor;
}

/// [`SrOps`] on burn tensors: what training and the reference inference use.
#[derive(Debug, Clone, Copy, Default)]
pub struct BurnOps;

impl SrOps for BurnOps {
    type Tensor = Tensor<4>;

    fn conv2d(&self, layer: &Conv2d, x: Tensor<4>) -> Tensor<4> {
        layer.forward(x)
    }

    fn conv_transpose2d(&self, layer: &ConvTranspose2d, x: Tensor<4>) -> Tensor<4> {
        layer.forward(x)
    }

    fn activation(&self, act: Activation<'_>, x: Tensor<4>) -> Tensor<4> {
        match act {
            Activation::Relu => relu(x),
            Activation::Tanh => tanh(x),
            Activation::Sigmoid => sigmoid(x),
            Activation::LeakyRelu(slope) => leaky_relu(x, slope),
            Activation::PRelu(layer) => layer.forward(x),
        }
    }

    fn batch_norm(&self, layer: &BatchNorm, x: Tensor<4>) -> Tensor<4> {
        layer.forward(x)
    }

    fn add(&self, a: Tensor<4>, b: Tensor<4>) -> Tensor<4> {
        a + b
    }

    fn mul_scalar(&self, x: Tensor<4>, factor: f64) -> Tensor<4> {
        x.mul_scalar(factor)
    }

    fn add_per_channel(&self, x: Tensor<4>, offsets: &[f64]) -> Tensor<4> {
        let values: Vec<f32> = offsets.iter().map(|&v| v as f32).collect();
        let offsets = Tensor::<4>::from_data(
            TensorData::new(values, [1, offsets.len(), 1, 1]),
            &x.device(),
        )
        .cast(x.dtype());
        x + offsets
    }

    fn global_mean(&self, x: Tensor<4>) -> Tensor<4> {
        x.mean_dim(2).mean_dim(3)
    }

    fn mul_per_channel(&self, x: Tensor<4>, gate: Tensor<4>) -> Tensor<4> {
        x * gate
    }

    fn concat_channels(&self, xs: &[Tensor<4>]) -> Tensor<4> {
        Tensor::cat(xs.to_vec(), 1)
    }

    fn pixel_shuffle(&self, x: Tensor<4>, factor: usize) -> Tensor<4> {
        PixelShuffleConfig::new(factor).init().forward(x)
    }

    fn pixel_unshuffle(&self, x: Tensor<4>, factor: usize) -> Tensor<4> {
        PixelUnshuffleConfig::new(factor).init().forward(x)
    }

    fn upsample(&self, x: Tensor<4>, factor: usize, mode: Upsample) -> Tensor<4> {
        let [_, _, h, w] = x.dims();
        let mode = match mode {
            Upsample::Nearest => InterpolateMode::Nearest,
            Upsample::Bilinear => InterpolateMode::Bilinear,
        };
        interpolate(
            x,
            InterpolateOptions::new(mode)
                .with_align_corners(false)
                .with_output_size([h * factor, w * factor]),
        )
    }

    fn rescale_bicubic(&self, x: Tensor<4>, to: usize, from: usize) -> Tensor<4> {
        let [_, _, h, w] = x.dims();
        interpolate(
            x,
            InterpolateOptions::new(InterpolateMode::Bicubic)
                .with_align_corners(false)
                .with_output_size([h * to / from, w * to / from]),
        )
    }
}

/// A convolution's zero padding as `[(top, bottom), (left, right)]`.
fn padding_pairs(layer: &Conv2d) -> [(usize, usize); 2] {
    let [kh, kw] = layer.kernel_size;
    match layer.padding {
        PaddingConfig2d::Explicit(t, l, b, r) => [(t, b), (l, r)],
        PaddingConfig2d::Valid => [(0, 0), (0, 0)],
        PaddingConfig2d::Same => [(kh / 2, (kh - 1) / 2), (kw / 2, (kw - 1) / 2)],
    }
}

/// [`SrOps`] on burn tensors that computes in a narrower float type: mixed-precision training
/// (bf16, as PyTorch's autocast does for convolutions). Each operation casts its inputs, and
/// its layer's parameters, to `dtype`; the parameters themselves (and so the optimizer and its
/// state) stay f32, and because casts are differentiable they receive f32 gradients. Batch
/// normalisation keeps its statistics in f32. The output is in `dtype`: cast it back before
/// the loss.
#[derive(Debug, Clone, Copy)]
pub struct CastOps {
    /// The type the operations compute in.
    pub dtype: FloatDType,
}

impl CastOps {
    fn cast<const D: usize>(&self, x: Tensor<D>) -> Tensor<D> {
        x.cast(self.dtype)
    }

    /// A layer's weight and bias, cast.
    fn parameters(
        &self,
        weight: &Param<Tensor<4>>,
        bias: Option<&Param<Tensor<1>>>,
    ) -> (Tensor<4>, Option<Tensor<1>>) {
        (self.cast(weight.val()), bias.map(|b| self.cast(b.val())))
    }
}

impl SrOps for CastOps {
    type Tensor = Tensor<4>;

    fn conv2d(&self, layer: &Conv2d, x: Tensor<4>) -> Tensor<4> {
        let options = ConvOptions::new_with_padding(
            layer.stride,
            padding_pairs(layer),
            layer.dilation,
            layer.groups,
        );
        let (weight, bias) = self.parameters(&layer.weight, layer.bias.as_ref());
        conv2d(self.cast(x), weight, bias, options)
    }

    fn conv_transpose2d(&self, layer: &ConvTranspose2d, x: Tensor<4>) -> Tensor<4> {
        let options = ConvTransposeOptions::new(
            layer.stride,
            layer.padding,
            layer.padding_out,
            layer.dilation,
            layer.groups,
        );
        let (weight, bias) = self.parameters(&layer.weight, layer.bias.as_ref());
        conv_transpose2d(self.cast(x), weight, bias, options)
    }

    fn activation(&self, act: Activation<'_>, x: Tensor<4>) -> Tensor<4> {
        match act {
            Activation::PRelu(layer) => prelu(self.cast(x), self.cast(layer.alpha.val())),
            other => BurnOps.activation(other, self.cast(x)),
        }
    }

    fn batch_norm(&self, layer: &BatchNorm, x: Tensor<4>) -> Tensor<4> {
        self.cast(layer.forward(x.cast(FloatDType::F32)))
    }

    fn add(&self, a: Tensor<4>, b: Tensor<4>) -> Tensor<4> {
        self.cast(a) + self.cast(b)
    }

    fn mul_scalar(&self, x: Tensor<4>, factor: f64) -> Tensor<4> {
        self.cast(x).mul_scalar(factor)
    }

    fn add_per_channel(&self, x: Tensor<4>, offsets: &[f64]) -> Tensor<4> {
        BurnOps.add_per_channel(self.cast(x), offsets)
    }

    fn global_mean(&self, x: Tensor<4>) -> Tensor<4> {
        BurnOps.global_mean(self.cast(x))
    }

    fn mul_per_channel(&self, x: Tensor<4>, gate: Tensor<4>) -> Tensor<4> {
        self.cast(x) * self.cast(gate)
    }

    fn concat_channels(&self, xs: &[Tensor<4>]) -> Tensor<4> {
        Tensor::cat(xs.iter().map(|x| self.cast(x.clone())).collect(), 1)
    }

    fn pixel_shuffle(&self, x: Tensor<4>, factor: usize) -> Tensor<4> {
        BurnOps.pixel_shuffle(self.cast(x), factor)
    }

    fn pixel_unshuffle(&self, x: Tensor<4>, factor: usize) -> Tensor<4> {
        BurnOps.pixel_unshuffle(self.cast(x), factor)
    }

    fn upsample(&self, x: Tensor<4>, factor: usize, mode: Upsample) -> Tensor<4> {
        BurnOps.upsample(self.cast(x), factor, mode)
    }

    fn rescale_bicubic(&self, x: Tensor<4>, to: usize, from: usize) -> Tensor<4> {
        BurnOps.rescale_bicubic(self.cast(x), to, from)
    }
}

/// [`SrOps`] on shapes alone: runs a network's definition to find its output size, count
/// its multiply-adds (convolutions only; the pointwise work is comparatively negligible) and
/// find its largest feature map.
#[derive(Debug, Default)]
pub struct CostOps {
    macs: std::cell::Cell<u64>,
    largest: std::cell::Cell<usize>,
    convolutions: std::cell::RefCell<Vec<ConvLayer>>,
}

/// A 2-D convolution as [`CostOps`] met it, in the order the network runs them.
#[derive(Debug, Clone, PartialEq)]
pub struct ConvLayer {
    /// Its weight's parameter id (what engines key their packed weights by).
    pub id: ParamId,
    /// Input channels.
    pub channels_in: usize,
    /// Output channels.
    pub channels_out: usize,
    /// Multiply-adds it took.
    pub multiply_adds: u64,
}

impl CostOps {
    /// Multiply-adds counted so far.
    pub fn multiply_adds(&self) -> u64 {
        self.macs.get()
    }

    /// The 2-D convolutions met so far, in order.
    pub fn convolutions(&self) -> Vec<ConvLayer> {
        self.convolutions.borrow().clone()
    }

    /// Values in the largest feature map produced so far.
    pub fn largest_map(&self) -> usize {
        self.largest.get()
    }

    fn count(&self, macs: usize) {
        self.macs.set(self.macs.get() + macs as u64);
    }

    fn produced(&self, dims: [usize; 4]) -> [usize; 4] {
        self.largest
            .set(self.largest.get().max(dims.iter().product()));
        dims
    }
}

impl SrOps for CostOps {
    type Tensor = [usize; 4];

    fn conv2d(&self, layer: &Conv2d, [n, c, h, w]: [usize; 4]) -> [usize; 4] {
        let [co, ci, kh, kw] = layer.weight.dims();
        let [(top, bottom), (left, right)] = padding_pairs(layer);
        let [sy, sx] = layer.stride;
        let ho = (h + top + bottom - kh) / sy + 1;
        let wo = (w + left + right - kw) / sx + 1;
        let macs = n * co * ho * wo * c / layer.groups * kh * kw;
        self.count(macs);
        self.convolutions.borrow_mut().push(ConvLayer {
            id: layer.weight.id,
            channels_in: ci * layer.groups,
            channels_out: co,
            multiply_adds: macs as u64,
        });
        self.produced([n, co, ho, wo])
    }

    fn conv_transpose2d(&self, layer: &ConvTranspose2d, [n, c, h, w]: [usize; 4]) -> [usize; 4] {
        let [_, co, kh, kw] = layer.weight.dims();
        let size = |n: usize, k: usize, i: usize| {
            (n - 1) * layer.stride[i] + k + layer.padding_out[i] - 2 * layer.padding[i]
        };
        self.count(n * c * h * w * co * kh * kw);
        self.produced([n, co, size(h, kh, 0), size(w, kw, 1)])
    }

    fn activation(&self, _: Activation<'_>, x: [usize; 4]) -> [usize; 4] {
        x
    }

    fn batch_norm(&self, _: &BatchNorm, x: [usize; 4]) -> [usize; 4] {
        x
    }

    fn add(&self, a: [usize; 4], _: [usize; 4]) -> [usize; 4] {
        a
    }

    fn mul_scalar(&self, x: [usize; 4], _: f64) -> [usize; 4] {
        x
    }

    fn add_per_channel(&self, x: [usize; 4], _: &[f64]) -> [usize; 4] {
        x
    }

    fn global_mean(&self, [n, c, _, _]: [usize; 4]) -> [usize; 4] {
        [n, c, 1, 1]
    }

    fn mul_per_channel(&self, x: [usize; 4], _: [usize; 4]) -> [usize; 4] {
        x
    }

    fn concat_channels(&self, xs: &[[usize; 4]]) -> [usize; 4] {
        let [n, _, h, w] = xs[0];
        self.produced([n, xs.iter().map(|x| x[1]).sum(), h, w])
    }

    fn pixel_shuffle(&self, [n, c, h, w]: [usize; 4], r: usize) -> [usize; 4] {
        self.produced([n, c / (r * r), h * r, w * r])
    }

    fn pixel_unshuffle(&self, [n, c, h, w]: [usize; 4], r: usize) -> [usize; 4] {
        self.produced([n, c * r * r, h / r, w / r])
    }

    fn upsample(&self, [n, c, h, w]: [usize; 4], factor: usize, _: Upsample) -> [usize; 4] {
        self.produced([n, c, h * factor, w * factor])
    }

    fn rescale_bicubic(&self, [n, c, h, w]: [usize; 4], to: usize, from: usize) -> [usize; 4] {
        self.produced([n, c, h * to / from, w * to / from])
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::arch::SrNetwork;
    use crate::build;
    use burn::tensor::{DType, Device, Distribution};

    const BF16: CastOps = CastOps {
        dtype: FloatDType::BF16,
    };

    /// `||a - b|| / ||a||`.
    fn relative_error<const D: usize>(a: Tensor<D>, b: Tensor<D>) -> f32 {
        let norm = |t: Tensor<D>| t.powf_scalar(2.0).sum().sqrt().into_scalar::<f32>();
        norm(a.clone() - b) / norm(a)
    }

    #[test]
    fn bf16_forward_of_every_model_tracks_f32() {
        // bf16 keeps 8 significant bits (0.4% per rounding); through the deepest network here,
        // RRDBNet's 23 blocks, the error stays at a few percent of the output.
        let device = Device::flex();
        for spec in crate::specs() {
            let scale = spec.scales[0];
            let model = build(spec.name, scale, &device).unwrap();
            let side = model.input_side(4 * model.input_multiple());
            let dims = [2, model.color().channels(), side, side];
            let x = Tensor::<4>::random(dims, Distribution::Default, &device);
            let exact = model.forward(x.clone()).unwrap();
            let reduced = model.run(&BF16, dims, x).unwrap();
            assert_eq!(reduced.dtype(), DType::BF16, "{}", spec.name);
            let error = relative_error(exact, reduced.cast(FloatDType::F32));
            assert!(
                error < 0.05,
                "{} x{scale}: relative error {error}",
                spec.name
            );
        }
    }

    #[test]
    fn bf16_gradients_reach_the_f32_parameters() {
        let device = Device::flex().autodiff();
        let model = build("espcn", 3, &device).unwrap();
        let SrNetwork::Espcn(net) = &model.network else {
            unreachable!("espcn builds an ESPCN")
        };
        let dims = [2, 3, 12, 12];
        let x = Tensor::<4>::random(dims, Distribution::Default, &device);
        let target = Tensor::<4>::random([2, 3, 36, 36], Distribution::Default, &device);
        let weight_grad = |output: Tensor<4>| {
            let loss = (output.cast(FloatDType::F32) - target.clone())
                .powf_scalar(2.0)
                .mean();
            let grads = loss.backward();
            net.conv1
                .weight
                .val()
                .grad(&grads)
                .expect("conv1 has a gradient")
        };
        let exact = weight_grad(model.forward(x.clone()).unwrap());
        let reduced = weight_grad(model.run(&BF16, dims, x).unwrap());
        assert_eq!(net.conv1.weight.val().dtype(), DType::F32);
        assert_eq!(reduced.dtype(), DType::F32);
        let error = relative_error(exact, reduced);
        assert!(error < 0.05, "gradient relative error {error}");
    }

    #[test]
    fn cost_of_edsr_baseline_x4_on_128_pixels() {
        // All 3x3: the 3->64 head, 33 64->64 convolutions (32 in the blocks, one closing the
        // body) at 128x128, the upsampler's 64->256 at 128x128 and 256x256, the 64->3 tail at
        // 512x512: 32.5 G multiply-adds, the 65 GFLOP usually quoted.
        let model = build("edsr-baseline", 4, &Device::flex()).unwrap();
        let ops = CostOps::default();
        let out = model.run(&ops, [1, 3, 128, 128], [1, 3, 128, 128]).unwrap();
        assert_eq!(out, [1, 3, 512, 512]);
        let px: u64 = 128 * 128;
        let expected = 9
            * (px * 3 * 64
                + 33 * px * 64 * 64
                + px * 64 * 256
                + 4 * px * 64 * 256
                + 16 * px * 64 * 3);
        assert_eq!(ops.multiply_adds(), expected);
        // The upsampler's second 64 -> 256 convolution, at 256x256.
        assert_eq!(ops.largest_map(), 256 * 256 * 256);
        let convs = ops.convolutions();
        assert_eq!(convs.len(), 1 + 33 + 2 + 1);
        assert_eq!(convs.iter().map(|c| c.multiply_adds).sum::<u64>(), expected);
        assert_eq!((convs[0].channels_in, convs[35].channels_out), (3, 256));
    }
}
