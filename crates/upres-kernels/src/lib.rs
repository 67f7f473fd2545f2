//! Fast CPU kernels for super-resolution inference, without burn.
//!
//! Data lives in [`FeatureMap`]s: NHWC `f32` images with a zero border of [`BORDER`], so that
//! a "same" convolution reads its neighbours without bounds checks and the channels of one
//! pixel are contiguous. Buffers of dropped maps are recycled, and producers clear only the
//! border.
//!
//! - [`winograd`]: 3x3 convolutions by Winograd F(2x2, 3x3): 16 channel products per 2x2
//!   output block instead of 36, on a 6 tiles x 16 channels AVX2 micro-kernel.
//! - [`conv`]: every other convolution, direct, its micro-kernel computing 3 pixels x 4
//!   output channels as dot products over contiguous kernel-row spans; transposed
//!   convolution.
//! - [`int8`]: INT8 convolution for quantized models: bytes in, `f32` out.
//! - [`winograd_int8`]: the same INT8 convolutions, 3x3 ones by Winograd F(2x2, 3x3) in
//!   exact 16-bit arithmetic.
//! - [`pointwise`]: activations (vectorised `exp` for tanh and sigmoid), sums, scalings.
//! - [`reshape`]: pixel (un)shuffle, nearest and bilinear upsampling, channel concatenation,
//!   global pooling.
//! - [`simd`]: the run-time choice between AVX2 + FMA code and the portable build, and the
//!   CPU's measured FMA peak.
//!
//! Work is split across rayon's threads by rows.

pub mod conv;
mod feature;
pub mod int8;
pub mod pointwise;
mod pool;
pub mod reshape;
pub mod simd;
#[cfg(test)]
mod testing;
pub mod winograd;
pub mod winograd_int8;

pub use conv::{PackedConv, PackedConvTranspose, conv_transpose2d, conv2d};
pub use feature::{BORDER, FeatureMap};
pub use int8::{QuantizedConv, Quantizer, conv2d_int8};
pub use pointwise::Act;
pub use winograd::{WinogradConv, conv3x3_winograd};
pub use winograd_int8::{WinogradInt8Conv, conv3x3_winograd_int8};
