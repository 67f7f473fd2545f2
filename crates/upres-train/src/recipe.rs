//! Training recipes: one TOML file says everything a run needs (the role of BasicSR's YAML
//! options). See `configs/` for the recipes behind the committed models.

use std::path::{Path, PathBuf};

use burn::tensor::Device;
use serde::{Deserialize, Serialize};
use upres_models::{ModelError, SrModel, Variant};

use crate::data::DataConfig;
use crate::error::TrainError;
use crate::gan::GanSection;
use crate::loss::LossConfig;
use crate::schedule::Schedule;

/// A whole training run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Recipe {
    pub model: ModelSection,
    pub data: DataConfig,
    /// Weighted loss terms (default: L1).
    #[serde(default)]
    pub loss: LossConfig,
    /// Adversarial training (off when absent).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gan: Option<GanSection>,
    pub optimizer: OptimizerSection,
    /// Learning-rate schedule (default: cosine annealing to 0 over the run).
    #[serde(default)]
    pub schedule: Schedule,
    pub train: TrainSection,
    #[serde(default)]
    pub validation: ValidationSection,
}

/// Which model to train.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ModelSection {
    /// Registry name (`upres models` lists them).
    pub name: String,
    /// Upscaling factor.
    pub scale: usize,
    /// Changes to an EDSR model's preset, as `blocks=4,features=32,upsampler=sub-pixel`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub variant: Option<String>,
}

impl ModelSection {
    /// The variant's changes to the preset.
    pub fn variant(&self) -> Result<Variant, String> {
        self.variant
            .as_deref()
            .map_or(Ok(Variant::default()), str::parse)
            .map_err(|reason| format!("model.variant: {reason}"))
    }

    /// The model, freshly initialised on `device`.
    pub fn build(&self, device: &Device) -> Result<SrModel, TrainError> {
        let variant = self.variant().map_err(|reason| ModelError::InvalidConfig {
            arch: "model",
            reason,
        })?;
        Ok(upres_models::build_variant(
            &self.name, self.scale, variant, device,
        )?)
    }
}

/// Adam's settings.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OptimizerSection {
    /// Base learning rate.
    pub lr: f64,
    #[serde(default = "default_betas")]
    pub betas: [f32; 2],
    #[serde(default = "default_eps")]
    pub eps: f32,
    /// L2 penalty added to the gradients (PyTorch's `Adam(weight_decay=...)`).
    #[serde(default)]
    pub weight_decay: f32,
    /// Clips each parameter's gradient to this L2 norm.
    #[serde(default)]
    pub grad_clip: Option<f32>,
}

fn default_betas() -> [f32; 2] {
    [0.9, 0.999]
}

fn default_eps() -> f32 {
    1e-8
}

/// Length, batches and bookkeeping.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TrainSection {
    pub iterations: usize,
    /// Patches per batch.
    pub batch: usize,
    /// Seeds the weights and every batch: the same seed gives the same run.
    #[serde(default)]
    pub seed: u64,
    /// Decay of an exponential moving average of the weights, used for validation and the
    /// saved model (BasicSR uses 0.999); none by default.
    #[serde(default)]
    pub ema: Option<f32>,
    /// Iterations between lines of the training log.
    #[serde(default = "default_log_every")]
    pub log_every: usize,
}

fn default_log_every() -> usize {
    100
}

/// Periodic evaluation under the papers' protocol.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ValidationSection {
    /// Iterations between validations (and checkpoints).
    #[serde(default = "default_every")]
    pub every: usize,
    /// Dataset folders (each with an `HR` subfolder); the first one picks the best checkpoint.
    #[serde(default = "default_sets")]
    pub data: Vec<PathBuf>,
}

fn default_every() -> usize {
    5000
}

fn default_sets() -> Vec<PathBuf> {
    vec![PathBuf::from("../shared/datasets/Set5")]
}

impl Default for ValidationSection {
    fn default() -> Self {
        Self {
            every: default_every(),
            data: default_sets(),
        }
    }
}

impl Recipe {
    /// Reads and checks a recipe file.
    pub fn load(path: &Path) -> Result<Self, TrainError> {
        let text = std::fs::read_to_string(path).map_err(|source| TrainError::Io {
            path: path.to_path_buf(),
            source,
        })?;
        let recipe: Recipe = toml::from_str(&text).map_err(|e| TrainError::Recipe {
            path: path.to_path_buf(),
            message: e.message().to_string(),
        })?;
        recipe.check().map_err(|message| TrainError::Recipe {
            path: path.to_path_buf(),
            message,
        })?;
        Ok(recipe)
    }

    fn check(&self) -> Result<(), String> {
        self.model.variant()?;
        if self.train.iterations == 0 || self.train.batch == 0 {
            return Err("train.iterations and train.batch must be positive".into());
        }
        if self.validation.every == 0 {
            return Err("validation.every must be positive".into());
        }
        if self.optimizer.lr.is_nan() || self.optimizer.lr <= 0.0 {
            return Err("optimizer.lr must be positive".into());
        }
        if let Some(decay) = self.train.ema
            && !(0.0..1.0).contains(&decay)
        {
            return Err(format!("train.ema is {decay}: it must be in [0, 1)"));
        }
        if self.loss.0.is_empty() {
            return Err("the loss needs at least one term".into());
        }
        if let Some(gan) = &self.gan {
            let side = self.data.patch * self.model.scale;
            let multiple = gan.discriminator.patch_multiple();
            if !side.is_multiple_of(multiple) {
                return Err(format!(
                    "gan: the discriminator judges HR patches of a multiple of {multiple} pixels, \
                     and data.patch x scale is {side} (use {} for 128)",
                    128 / self.model.scale.max(1)
                ));
            }
        }
        Ok(())
    }

    /// The recipe as TOML (saved beside each run).
    pub fn to_toml(&self) -> String {
        toml::to_string_pretty(self).expect("a recipe always serialises")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_committed_recipe_loads() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../configs");
        let mut gan_recipes = 0;
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.extension().is_some_and(|e| e == "toml") {
                let recipe = Recipe::load(&path).unwrap_or_else(|e| panic!("{e}"));
                gan_recipes += usize::from(recipe.gan.is_some());
            }
        }
        assert!(gan_recipes >= 3, "SRGAN, ESRGAN and the CPU recipe");
    }

    #[test]
    fn a_gan_needs_hr_patches_the_discriminator_can_judge() {
        let text = std::fs::read_to_string(
            Path::new(env!("CARGO_MANIFEST_DIR")).join("../../configs/esrgan_x4.toml"),
        )
        .unwrap();
        let mut recipe: Recipe = toml::from_str(&text).unwrap();
        assert!(recipe.check().is_ok());
        recipe.data.patch = 30;
        assert!(recipe.check().unwrap_err().contains("multiple of 32"));
    }
}
