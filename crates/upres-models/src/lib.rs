//! Super-resolution architectures for upres, on burn.
//!
//! - [`arch`]: one module per architecture (SRCNN, FSRCNN, ESPCN, EDSR, RCAN, SRResNet and
//!   MSRResNet, RRDBNet, SRVGGNetCompact), each a `Config` and a `Module` whose `forward` takes an
//!   NCHW RGB tensor with values in [0, 1] and returns the super-resolved image on the same
//!   scale (unclamped). [`arch::SrNetwork`] holds any of them.
//! - [`registry`]: every model by name, the scales it supports, a builder and a listing.
//! - [`weights`]: upres safetensors files and PyTorch checkpoints with official key names.
//! - [`ncnn`]: ncnn `.param`/`.bin` models, mapped onto these architectures by their graph.
//! - [`int8`]: the calibrated activation ranges that an INT8 model file carries.
//! - [`discriminator`]: the VGG-style discriminator of SRGAN/ESRGAN.
//! - [`perceptual`]: ImageNet VGG16 and AlexNet feature stacks, and LPIPS.
//!
//! Models have no backend type parameter: the [`Device`](burn::tensor::Device) they are built
//! on picks the backend (`Device::flex()`, the pure-Rust CPU backend, is always available;
//! the `wgpu` and `tch` features add those backends).

pub mod arch;
pub mod discriminator;
pub mod error;
pub mod int8;
pub mod ncnn;
pub mod ops;
pub mod perceptual;
mod receptive;
pub mod registry;
pub mod variant;
pub mod weights;

pub use arch::SrNetwork;
pub use error::{ModelError, WeightsError};
pub use int8::Int8Calibration;
pub use ops::{Activation, BurnOps, CastOps, ConvLayer, CostOps, SrOps, Upsample, layer_values};
pub use registry::{
    ColorSpace, InputKind, ModelEntry, ModelSpec, SrModel, build, build_variant, entries, load,
    load_from, spec, specs,
};
pub use variant::Variant;
pub use weights::Source;
