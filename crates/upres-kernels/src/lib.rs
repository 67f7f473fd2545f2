//! Fast CPU kernels for super-resolution inference, without burn.
//!
//! Data lives in [`FeatureMap`]s: NHWC `f32` images with a zero border, so that a "same"
//! convolution reads its neighbours without bounds checks and the channels of one pixel are
//! contiguous (one broadcast feeds a whole vector of output channels).
//!
//! - [`conv`]: convolutions as a register-blocked direct convolution (6 pixels x 16 output
//!   channels per micro-tile; AVX2 + FMA chosen at run time, a portable fallback otherwise),
//!   bias folded into the accumulators, split across threads by rows; transposed convolution.
//! - [`pointwise`]: activations (vectorised `exp` for tanh and sigmoid), sums, scalings.
//! - [`reshape`]: pixel (un)shuffle, nearest and bilinear upsampling, channel concatenation,
//!   global pooling.

pub mod conv;
mod feature;
pub mod pointwise;
pub mod reshape;
pub mod simd;
pub mod winograd;

pub use conv::{PackedConv, PackedConvTranspose, conv_transpose2d, conv2d};
pub use feature::{BORDER, FeatureMap};
pub use pointwise::Act;
pub use winograd::{WinogradConv, conv3x3_winograd};
