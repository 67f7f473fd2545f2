//! Training losses over NCHW batches in [0, 1].
//!
//! Every loss implements [`Loss`]; a recipe names weighted terms ([`LossConfig`]) whose sum is
//! the training objective. Pixel losses live here; perceptual and adversarial terms plug into
//! the same trait.

use burn::tensor::Tensor;
use serde::{Deserialize, Serialize};

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

/// The kinds of loss a recipe can name.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
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
}

fn default_eps() -> f32 {
    1e-3
}

/// One weighted term of the objective.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
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
    /// Builds the weighted sum.
    pub fn init(&self) -> WeightedSum {
        WeightedSum(
            self.0
                .iter()
                .map(|term| {
                    let loss: Box<dyn Loss> = match term.kind {
                        LossKind::L1 => Box::new(L1),
                        LossKind::Mse => Box::new(Mse),
                        LossKind::Charbonnier { eps } => Box::new(Charbonnier { eps }),
                    };
                    (term.weight, loss)
                })
                .collect(),
        )
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
        let total = value(config.init().forward(a, b));
        assert!((total - (2.0 * 1.75 / 4.0 + 1.3125 / 4.0)).abs() < 1e-6);
        assert!(toml::from_str::<LossTerm>("kind = \"l3\"").is_err());
    }
}
