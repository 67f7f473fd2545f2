//! LPIPS v0.1 (Zhang et al., CVPR 2018): the distance between two images is, summed over five
//! layers of an ImageNet trunk, the spatial mean of a learned per-channel weighting of the
//! squared difference of unit-normalised features. Lower is closer; identical images score 0.
//!
//! Matches the official `lpips` package (`LPIPS(net=..., version='0.1')`) given the same
//! weights: inputs in [0, 1] are mapped as its `ScalingLayer` maps [-1, 1] inputs, features are
//! normalised by `x / (sqrt(sum_c x^2) + 1e-10)`, and the linear layers are 1x1 convolutions
//! without bias.

use std::fmt;
use std::path::Path;
use std::str::FromStr;

use burn::nn::conv::Conv2d;
use burn::tensor::{Device, Tensor};

use super::{AlexNet, PerceptualError, Vgg16, imagenet_normalize};

/// The trunk LPIPS compares features of.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LpipsNet {
    /// AlexNet: the authors' recommended forward metric.
    Alex,
    /// VGG16: closer to a perceptual loss; the usual choice in SR papers that report LPIPS
    /// from BasicSR.
    Vgg,
}

impl FromStr for LpipsNet {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "alex" | "alexnet" => Ok(LpipsNet::Alex),
            "vgg" | "vgg16" => Ok(LpipsNet::Vgg),
            other => Err(format!("unknown LPIPS network `{other}` (alex, vgg)")),
        }
    }
}

impl fmt::Display for LpipsNet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            LpipsNet::Alex => "alex",
            LpipsNet::Vgg => "vgg",
        })
    }
}

#[derive(Debug)]
enum Trunk {
    Alex(AlexNet),
    Vgg(Vgg16),
}

/// LPIPS with its trunk and linear layers loaded.
#[derive(Debug)]
pub struct Lpips {
    net: LpipsNet,
    trunk: Trunk,
    lins: Vec<Conv2d>,
}

impl Lpips {
    /// Loads LPIPS-`net` from the converted weights in `dir` (see [`super::weights_dir`]).
    pub fn load(net: LpipsNet, dir: &Path, device: &Device) -> Result<Self, PerceptualError> {
        let (trunk, lins) = match net {
            LpipsNet::Alex => {
                let (alex, lins) = AlexNet::load_with_lpips(dir, device)?;
                (Trunk::Alex(alex), lins)
            }
            LpipsNet::Vgg => {
                let (vgg, lins) = Vgg16::load_with_lpips(dir, device)?;
                (Trunk::Vgg(vgg), lins)
            }
        };
        Ok(Self { net, trunk, lins })
    }

    /// Which trunk it uses.
    pub fn net(&self) -> LpipsNet {
        self.net
    }

    /// The five feature maps LPIPS compares, for an NCHW RGB batch in [0, 1].
    fn features(&self, x: Tensor<4>) -> Vec<Tensor<4>> {
        let x = imagenet_normalize(x);
        match &self.trunk {
            Trunk::Alex(alex) => alex.relu_outputs(x),
            Trunk::Vgg(vgg) => vgg.features(x, &Vgg16::lpips_layers()),
        }
    }

    /// The distance of each pair in two NCHW RGB batches in [0, 1] of the same shape: `[N]`.
    pub fn forward(&self, a: Tensor<4>, b: Tensor<4>) -> Result<Tensor<1>, PerceptualError> {
        let [n, c, h, w] = a.dims();
        if a.dims() != b.dims() {
            return Err(PerceptualError::Input(format!(
                "LPIPS compares images of one size, got {:?} and {:?}",
                a.dims(),
                b.dims()
            )));
        }
        if c != 3 || h.min(w) < 32 {
            return Err(PerceptualError::Input(format!(
                "LPIPS needs RGB images of at least 32x32, got {c} channels, {w}x{h}"
            )));
        }
        let both = Tensor::cat(vec![a, b], 0);
        let mut total: Option<Tensor<1>> = None;
        for (features, lin) in self.features(both).into_iter().zip(&self.lins) {
            let normalised = unit_normalise(features);
            let fa = normalised.clone().narrow(0, 0, n);
            let fb = normalised.narrow(0, n, n);
            let weighted = lin.forward((fa - fb).square());
            let layer = weighted.mean_dims(&[1, 2, 3]).reshape([n]);
            total = Some(match total {
                Some(t) => t + layer,
                None => layer,
            });
        }
        Ok(total.expect("LPIPS has five layers"))
    }
}

/// Each pixel's feature vector divided by its Euclidean norm (plus LPIPS's 1e-10).
fn unit_normalise(x: Tensor<4>) -> Tensor<4> {
    let norm = x.clone().square().sum_dim(1).sqrt().add_scalar(1e-10);
    x / norm
}
