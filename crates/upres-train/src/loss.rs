//! Training losses over NCHW batches in [0, 1].
//!
//! Every loss implements [`Loss`]; a recipe names weighted terms ([`LossConfig`]) whose sum is
//! the training objective. Pixel losses and the VGG perceptual loss live here; the adversarial
//! term ([`crate::gan`]) adds to their sum.

use std::collections::BTreeMap;
use std::path::Path;

use burn::tensor::{Device, Tensor};
use serde::{Deserialize, Serialize};
use upres_models::perceptual::{PerceptualError, Vgg16, VggLayer, imagenet_normalize};

use crate::error::TrainError;

/// A differentiable distance between a network's output and its target.
pub trait Loss: Send + Sync {
    /// The scalar loss (mean over every element) of `output` against `target`.
    fn forward(&self, output: Tensor<4>, target: Tensor<4>) -> Tensor<1>;
}

/// Mean absolute error.
#[derive(Debug, Clone, Copy)]
pub struct L1;

impl Loss for L1 {
    fn forward(&self, output: Tensor<4>, target: Tensor<4>) -> Tensor<1> {
        (output - target).abs().mean()
    }
}

/// Mean squared error.
#[derive(Debug, Clone, Copy)]
pub struct Mse;

impl Loss for Mse {
    fn forward(&self, output: Tensor<4>, target: Tensor<4>) -> Tensor<1> {
        (output - target).square().mean()
    }
}

/// Charbonnier loss `sqrt((x - y)^2 + eps^2)`: L1 that is smooth at zero (LapSRN).
#[derive(Debug, Clone, Copy)]
pub struct Charbonnier {
    /// Smoothing constant.
    pub eps: f32,
}

impl Loss for Charbonnier {
    fn forward(&self, output: Tensor<4>, target: Tensor<4>) -> Tensor<1> {
        (output - target)
            .square()
            .add_scalar(self.eps * self.eps)
            .sqrt()
            .mean()
    }
}

/// Perceptual loss (Johnson et al., ECCV 2016; ESRGAN's variant): the L1 distance between
/// ImageNet VGG16 features of output and target, on chosen layers with a weight each. ESRGAN
/// takes features before the activation (`conv5_4` of VGG19; VGG16's deepest is `conv5_3`).
/// Luma batches are repeated to three channels.
pub struct Perceptual {
    vgg: Vgg16,
    layers: Vec<VggLayer>,
    weights: Vec<f32>,
}

impl Perceptual {
    /// VGG16 from the converted weights in `weights_dir`, on `device` (frozen).
    pub fn new(
        layers: &BTreeMap<String, f32>,
        weights_dir: &Path,
        device: &Device,
    ) -> Result<Self, PerceptualError> {
        let parsed = layers
            .keys()
            .map(|name| name.parse())
            .collect::<Result<Vec<VggLayer>, _>>()?;
        Ok(Self {
            vgg: Vgg16::load(weights_dir, device)?,
            layers: parsed,
            weights: layers.values().copied().collect(),
        })
    }

    fn features(&self, x: Tensor<4>) -> Vec<Tensor<4>> {
        let x = if x.dims()[1] == 1 {
            x.repeat_dim(1, 3)
        } else {
            x
        };
        self.vgg.features(imagenet_normalize(x), &self.layers)
    }
}

impl Loss for Perceptual {
    fn forward(&self, output: Tensor<4>, target: Tensor<4>) -> Tensor<1> {
        let fake = self.features(output);
        let real = self.features(target.detach());
        fake.into_iter()
            .zip(real)
            .zip(&self.weights)
            .map(|((f, r), w)| (f - r).abs().mean().mul_scalar(*w))
            .reduce(|a, b| a + b)
            .expect("a perceptual loss has at least one layer")
    }
}

/// The kinds of loss a recipe can name.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum LossKind {
    /// [`L1`].
    L1,
    /// [`Mse`].
    Mse,
    /// [`Charbonnier`], `eps` default 1e-3.
    Charbonnier {
        #[serde(default = "default_eps")]
        eps: f32,
    },
    /// [`Perceptual`]: VGG16 layer name -> weight (default `{ conv5_3 = 1.0 }`).
    Perceptual {
        #[serde(default = "default_layers")]
        layers: BTreeMap<String, f32>,
    },
}

fn default_eps() -> f32 {
    1e-3
}

fn default_layers() -> BTreeMap<String, f32> {
    BTreeMap::from([("conv5_3".to_string(), 1.0)])
}

/// One weighted term of the objective.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LossTerm {
    #[serde(flatten)]
    pub kind: LossKind,
    /// Weight of the term (default 1).
    #[serde(default = "one")]
    pub weight: f32,
}

fn one() -> f32 {
    1.0
}

/// The objective as a list of weighted terms; in TOML:
/// ```toml
/// [[loss]]
/// kind = "l1"
/// weight = 1.0
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct LossConfig(pub Vec<LossTerm>);

impl Default for LossConfig {
    fn default() -> Self {
        Self(vec![LossTerm {
            kind: LossKind::L1,
            weight: 1.0,
        }])
    }
}

impl LossConfig {
    /// Builds the weighted sum on `device`; a perceptual term reads VGG16 from `weights_dir`.
    pub fn init(&self, weights_dir: &Path, device: &Device) -> Result<WeightedSum, TrainError> {
        let terms = self
            .0
            .iter()
            .map(|term| {
                let loss: Box<dyn Loss> = match &term.kind {
                    LossKind::L1 => Box::new(L1),
                    LossKind::Mse => Box::new(Mse),
                    LossKind::Charbonnier { eps } => Box::new(Charbonnier { eps: *eps }),
                    LossKind::Perceptual { layers } => {
                        Box::new(Perceptual::new(layers, weights_dir, device)?)
                    }
                };
                Ok((term.weight, loss))
            })
            .collect::<Result<_, TrainError>>()?;
        Ok(WeightedSum(terms))
    }
}

/// A weighted sum of losses.
pub struct WeightedSum(pub Vec<(f32, Box<dyn Loss>)>);

impl Loss for WeightedSum {
    fn forward(&self, output: Tensor<4>, target: Tensor<4>) -> Tensor<1> {
        self.0
            .iter()
            .map(|(w, loss)| loss.forward(output.clone(), target.clone()).mul_scalar(*w))
            .reduce(|a, b| a + b)
            .expect("a loss configuration has at least one term")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::tensor::{Device, TensorData};

    fn pair() -> (Tensor<4>, Tensor<4>) {
        let device = Device::flex();
        let a = Tensor::from_data(
            TensorData::new(vec![0.0f32, 0.5, 1.0, 0.25], [1, 1, 2, 2]),
            &device,
        );
        let b = Tensor::from_data(
            TensorData::new(vec![0.5f32, 0.5, 0.0, 0.0], [1, 1, 2, 2]),
            &device,
        );
        (a, b)
    }

    fn value(t: Tensor<1>) -> f32 {
        t.into_data().try_to_vec::<f32>().unwrap()[0]
    }

    #[test]
    fn pixel_losses_match_hand_computed_values() {
        let (a, b) = pair();
        // Differences: -0.5, 0, 1, 0.25.
        assert!((value(L1.forward(a.clone(), b.clone())) - 1.75 / 4.0).abs() < 1e-6);
        assert!((value(Mse.forward(a.clone(), b.clone())) - 1.3125 / 4.0).abs() < 1e-6);
        let eps = 0.1f32;
        let expected = [-0.5f32, 0.0, 1.0, 0.25]
            .iter()
            .map(|d| (d * d + eps * eps).sqrt())
            .sum::<f32>()
            / 4.0;
        assert!((value(Charbonnier { eps }.forward(a, b)) - expected).abs() < 1e-6);
    }

    #[test]
    fn recipe_terms_sum_with_weights() {
        let config: LossConfig = toml::from_str::<std::collections::BTreeMap<String, LossConfig>>(
            "loss = [{ kind = \"l1\", weight = 2.0 }, { kind = \"mse\" }]",
        )
        .unwrap()
        .remove("loss")
        .unwrap();
        let (a, b) = pair();
        let total = value(
            config
                .init(Path::new("unused"), &Device::flex())
                .unwrap()
                .forward(a, b),
        );
        assert!((total - (2.0 * 1.75 / 4.0 + 1.3125 / 4.0)).abs() < 1e-6);
        assert!(toml::from_str::<LossTerm>("kind = \"l3\"").is_err());
    }
}
