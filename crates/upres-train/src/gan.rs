//! Adversarial training (SRGAN, ESRGAN): a discriminator learns to tell HR patches from the
//! generator's outputs, and the generator's objective gains a term for fooling it.
//!
//! A recipe turns it on with a `[gan]` section:
//! ```toml
//! [gan]
//! loss = "relativistic"   # or "vanilla" (SRGAN)
//! weight = 0.005          # ESRGAN's; SRGAN uses 1e-3
//! lr = 1e-4               # the discriminator's base rate (default: the generator's)
//! ```
//! The discriminator is the VGG-style one of SRGAN/ESRGAN (`discriminator = "vgg"`, the
//! default), which judges HR patches whose side (`data.patch * scale`) is a multiple of 32 (128
//! in the papers), or Real-ESRGAN's U-Net with spectral normalisation (`"unet"`), one logit
//! per pixel (sides a multiple of 8).

use std::path::Path;

use burn::module::Module;
use burn::optim::{GradientsParams, ModuleOptimizer};
use burn::tensor::activation::log_sigmoid;
use burn::tensor::{Device, Tensor};
use serde::{Deserialize, Serialize};
use upres_models::discriminator::{Discriminator, DiscriminatorKind};
use upres_models::weights::{Source, load, save_safetensors};

use crate::error::TrainError;
use crate::params::with_prefixed_path_ids;

/// The adversarial objective.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum GanLoss {
    /// Goodfellow et al.'s, with the non-saturating generator loss (SRGAN).
    Vanilla,
    /// Relativistic average GAN (Jolicoeur-Martineau, 2018), as ESRGAN uses it: the
    /// discriminator judges whether a real patch looks more real than the average fake one.
    #[default]
    Relativistic,
}

/// The `[gan]` section of a recipe.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GanSection {
    #[serde(default)]
    pub loss: GanLoss,
    /// Weight of the adversarial term in the generator's objective.
    pub weight: f32,
    /// The discriminator's base learning rate (the schedule scales it like the generator's).
    #[serde(default)]
    pub lr: Option<f64>,
    /// Which discriminator.
    #[serde(default)]
    pub discriminator: DiscriminatorChoice,
    /// Features of the discriminator's first stage (64 in the papers).
    #[serde(default = "default_features")]
    pub features: usize,
}

/// The recipe's name for a [`DiscriminatorKind`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DiscriminatorChoice {
    /// SRGAN/ESRGAN's VGG-style discriminator.
    #[default]
    Vgg,
    /// Real-ESRGAN's U-Net discriminator with spectral normalisation.
    Unet,
}

impl DiscriminatorChoice {
    /// The model crate's kind.
    pub fn kind(self) -> DiscriminatorKind {
        match self {
            DiscriminatorChoice::Vgg => DiscriminatorKind::Vgg,
            DiscriminatorChoice::Unet => DiscriminatorKind::UNet,
        }
    }

    /// The side HR patches must be a multiple of.
    pub fn patch_multiple(self) -> usize {
        match self {
            DiscriminatorChoice::Vgg => 32,
            DiscriminatorChoice::Unet => 8,
        }
    }
}

fn default_features() -> usize {
    64
}

/// Binary cross-entropy of logits against "real" (target 1).
fn real(logits: Tensor<2>) -> Tensor<1> {
    log_sigmoid(logits).mean().neg()
}

/// Binary cross-entropy of logits against "fake" (target 0).
fn fake(logits: Tensor<2>) -> Tensor<1> {
    log_sigmoid(logits.neg()).mean().neg()
}

impl GanLoss {
    /// The generator's adversarial loss from the discriminator's logits on real patches
    /// (constants) and on the generator's outputs.
    pub fn generator(self, on_real: Tensor<2>, on_fake: Tensor<2>) -> Tensor<1> {
        match self {
            GanLoss::Vanilla => real(on_fake),
            GanLoss::Relativistic => {
                let on_real = on_real.detach();
                let real_mean = on_real.clone().mean();
                let fake_mean = on_fake.clone().mean();
                (fake(on_real - fake_mean.unsqueeze()) + real(on_fake - real_mean.unsqueeze()))
                    .mul_scalar(0.5)
            }
        }
    }

    /// The discriminator's loss from its logits on real patches and on (detached) outputs.
    pub fn discriminator(self, on_real: Tensor<2>, on_fake: Tensor<2>) -> Tensor<1> {
        match self {
            GanLoss::Vanilla => (real(on_real) + fake(on_fake)).mul_scalar(0.5),
            GanLoss::Relativistic => {
                let real_mean = on_real.clone().detach().mean();
                let fake_mean = on_fake.clone().detach().mean();
                (real(on_real - fake_mean.unsqueeze()) + fake(on_fake - real_mean.unsqueeze()))
                    .mul_scalar(0.5)
            }
        }
    }
}

/// The discriminator of a run, its optimizer and its objective.
pub struct Adversary {
    section: GanSection,
    discriminator: Discriminator,
    optimizer: ModuleOptimizer,
}

const PATH_PREFIX: &str = "discriminator";

impl Adversary {
    /// A fresh discriminator for `channels`-channel HR patches of side `hr_patch`, on the
    /// (autodiff) `device`, trained by `optimizer`.
    pub fn new(
        section: &GanSection,
        channels: usize,
        hr_patch: usize,
        optimizer: ModuleOptimizer,
        device: &Device,
    ) -> Result<Self, TrainError> {
        let discriminator = Discriminator::new(
            section.discriminator.kind(),
            channels,
            section.features,
            hr_patch,
            device,
        )?;
        Ok(Self {
            section: section.clone(),
            discriminator: with_prefixed_path_ids(discriminator, PATH_PREFIX),
            optimizer,
        })
    }

    /// The weighted adversarial term of the generator's objective.
    pub fn generator_loss(
        &self,
        output: Tensor<4>,
        target: Tensor<4>,
    ) -> Result<Tensor<1>, TrainError> {
        let on_real = self.discriminator.logits(target)?;
        let on_fake = self.discriminator.logits(output)?;
        Ok(self
            .section
            .loss
            .generator(on_real, on_fake)
            .mul_scalar(self.section.weight))
    }

    /// One discriminator step on real patches and the generator's (detached) outputs, with the
    /// generator's rate `lr` rescaled to the discriminator's base rate; returns its loss.
    pub fn step(
        &mut self,
        output: Tensor<4>,
        target: Tensor<4>,
        lr: f64,
        generator_base_lr: f64,
    ) -> Result<f32, TrainError> {
        let on_real = self.discriminator.logits(target)?;
        let on_fake = self.discriminator.logits(output.detach())?;
        let loss = self.section.loss.discriminator(on_real, on_fake);
        let value = loss.clone().into_scalar();
        let grads = GradientsParams::from_grads(loss.backward(), &self.discriminator);
        let lr = self
            .section
            .lr
            .map_or(lr, |base| lr * base / generator_base_lr);
        self.discriminator = self.optimizer.step(lr, self.discriminator.clone(), grads);
        Ok(value)
    }

    /// Writes the discriminator and its optimizer state into a checkpoint folder.
    pub fn save(&self, dir: &Path) -> Result<(), TrainError> {
        save_safetensors(
            &self.discriminator.clone().valid(),
            &dir.join("discriminator.safetensors"),
            &[],
        )?;
        let path = dir.join("discriminator_optimizer.bpk");
        self.optimizer
            .save(&path)
            .map_err(|e| TrainError::Checkpoint {
                path,
                message: e.to_string(),
            })
    }

    /// Reads what [`Adversary::save`] wrote.
    pub fn resume(self, dir: &Path) -> Result<Self, TrainError> {
        let mut discriminator = self.discriminator;
        load(
            &mut discriminator,
            Source::File(&dir.join("discriminator.safetensors")),
        )?;
        let path = dir.join("discriminator_optimizer.bpk");
        let optimizer = self
            .optimizer
            .load(&path)
            .map_err(|e| TrainError::Checkpoint {
                path,
                message: e.to_string(),
            })?;
        Ok(Self {
            section: self.section,
            discriminator: with_prefixed_path_ids(discriminator, PATH_PREFIX),
            optimizer,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::tensor::{Device, TensorData};

    fn logits(values: &[f32]) -> Tensor<2> {
        Tensor::from_data(
            TensorData::new(values.to_vec(), [values.len(), 1]),
            &Device::flex(),
        )
    }

    fn value(t: Tensor<1>) -> f64 {
        f64::from(t.into_scalar::<f32>())
    }

    fn softplus(x: f64) -> f64 {
        (1.0 + x.exp()).ln()
    }

    #[test]
    fn losses_match_hand_computed_cross_entropies() {
        let (r, f) = ([2.0f32, 0.5], [-1.0f32, 0.25]);
        let (rm, fm) = (1.25f64, -0.375f64);
        // Vanilla: D pushes real to 1 and fake to 0; G pushes fake to 1.
        let d = (softplus(-2.0) + softplus(-0.5)) / 2.0 + (softplus(-1.0) + softplus(0.25)) / 2.0;
        assert!(
            (value(GanLoss::Vanilla.discriminator(logits(&r), logits(&f))) - d / 2.0).abs() < 1e-6
        );
        let g = (softplus(1.0) + softplus(-0.25)) / 2.0;
        assert!((value(GanLoss::Vanilla.generator(logits(&r), logits(&f))) - g).abs() < 1e-6);
        // Relativistic average: each side judged against the other's mean.
        let real_vs_fake = |x: f64| softplus(-(x - fm));
        let fake_vs_real = |x: f64| softplus(x - rm);
        let d = ((real_vs_fake(2.0) + real_vs_fake(0.5)) / 2.0
            + (fake_vs_real(-1.0) + fake_vs_real(0.25)) / 2.0)
            / 2.0;
        assert!(
            (value(GanLoss::Relativistic.discriminator(logits(&r), logits(&f))) - d).abs() < 1e-6
        );
        let g = ((softplus(2.0 - fm) + softplus(0.5 - fm)) / 2.0
            + (softplus(-(-1.0 - rm)) + softplus(-(0.25 - rm))) / 2.0)
            / 2.0;
        assert!((value(GanLoss::Relativistic.generator(logits(&r), logits(&f))) - g).abs() < 1e-6);
    }
}
