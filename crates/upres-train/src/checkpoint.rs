//! A run's folder on disk.
//!
//! ```text
//! <run>/recipe.toml        the recipe that started the run (resume checks it is unchanged)
//! <run>/last.safetensors   the latest evaluated weights (the moving average if kept)
//! <run>/best.safetensors   the weights with the best validation PSNR so far
//! <run>/train.csv, validation.csv, progress.png
//! <run>/state/             model, optimizer and average at the last checkpoint + progress.toml
//! ```
//! The state folder is written beside the old one and swapped in by renames, so a run killed
//! while saving still has a complete checkpoint.

use std::fs;
use std::path::{Path, PathBuf};

use burn::module::Module;
use burn::optim::ModuleOptimizer;
use serde::{Deserialize, Serialize};
use upres_metrics::DatasetScores;
use upres_models::{SrModel, SrNetwork};

use crate::error::TrainError;
use crate::gan::Adversary;
use crate::recipe::Recipe;

/// Where the loop stands; saved with every checkpoint.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Progress {
    /// Iterations done.
    pub iteration: usize,
    /// Training seconds so far (across resumes).
    pub elapsed: f64,
    /// Validation PSNR on the first set at the best checkpoint, and its iteration.
    pub best_psnr: Option<f64>,
    pub best_iteration: Option<usize>,
    /// LPIPS on the first set at the best checkpoint, when validation measures it
    /// (adversarial runs): then the lowest LPIPS, not the highest PSNR, is the best.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub best_lpips: Option<f64>,
}

impl Progress {
    /// Notes a validation; true when it is the best so far.
    pub fn record(&mut self, iteration: usize, scores: Option<&DatasetScores>) -> bool {
        let Some(scores) = scores else {
            return true;
        };
        let psnr = scores.mean.psnr;
        let lpips = scores.perceptual.as_ref().map(|(_, value)| *value);
        let best = match lpips {
            Some(lpips) => self.best_lpips.is_none_or(|b| lpips < b),
            None => self.best_psnr.is_none_or(|b| psnr > b),
        };
        if best {
            self.best_psnr = Some(psnr);
            self.best_lpips = lpips;
            self.best_iteration = Some(iteration);
        }
        best
    }

    /// Validation PSNR at the best checkpoint, and its iteration.
    pub fn best(&self) -> Option<(f64, usize)> {
        self.best_psnr.zip(self.best_iteration)
    }
}

/// Everything a checkpoint saves besides the progress.
pub struct TrainingState<'a> {
    /// The trained model (on the autodiff device).
    pub model: &'a SrModel,
    /// Its optimizer.
    pub optimizer: &'a ModuleOptimizer,
    /// The moving average of its weights, if the run keeps one.
    pub ema: Option<&'a SrNetwork>,
    /// The weights that are validated and shipped (`last`, `best`).
    pub evaluated: &'a SrModel,
    /// The discriminator of an adversarial run.
    pub adversary: Option<&'a Adversary>,
}

/// Paths and saving of a run folder.
pub struct Checkpoint {
    root: PathBuf,
}

impl Checkpoint {
    pub fn new(root: &Path) -> Self {
        Self {
            root: root.to_path_buf(),
        }
    }

    pub fn state(&self) -> PathBuf {
        self.root.join("state")
    }

    pub fn state_model(&self) -> PathBuf {
        self.state().join("model.safetensors")
    }

    pub fn state_optimizer(&self) -> PathBuf {
        self.state().join("optimizer.bpk")
    }

    pub fn state_ema(&self) -> PathBuf {
        self.state().join("ema.safetensors")
    }

    fn progress_path(&self) -> PathBuf {
        self.state().join("progress.toml")
    }

    /// The recipe the run started from.
    pub fn recipe(&self) -> PathBuf {
        self.root.join("recipe.toml")
    }

    /// The best weights so far.
    pub fn best(&self) -> PathBuf {
        self.root.join("best.safetensors")
    }

    /// The latest weights.
    pub fn last(&self) -> PathBuf {
        self.root.join("last.safetensors")
    }

    pub(crate) fn io(path: &Path) -> impl FnOnce(std::io::Error) -> TrainError + '_ {
        move |source| TrainError::Io {
            path: path.to_path_buf(),
            source,
        }
    }

    /// Prepares the folder of a new run; refuses to overwrite one that has a checkpoint.
    pub fn start(&self, recipe: &Recipe) -> Result<(), TrainError> {
        if self.state().exists() {
            return Err(TrainError::Checkpoint {
                path: self.root.clone(),
                message:
                    "holds a run already: pass --resume to continue it, or choose another folder"
                        .into(),
            });
        }
        fs::create_dir_all(&self.root).map_err(Self::io(&self.root))?;
        fs::write(self.recipe(), recipe.to_toml()).map_err(Self::io(&self.recipe()))
    }

    /// Resuming needs the recipe the run started with: another would not continue it exactly.
    pub fn check_recipe(&self, recipe: &Recipe) -> Result<(), TrainError> {
        let path = self.recipe();
        let text = fs::read_to_string(&path).map_err(Self::io(&path))?;
        let saved: Recipe = toml::from_str(&text).map_err(|e| TrainError::Checkpoint {
            path: path.clone(),
            message: e.message().to_string(),
        })?;
        if &saved != recipe {
            return Err(TrainError::Checkpoint {
                path,
                message: "the run started with another recipe; resume with that one".into(),
            });
        }
        Ok(())
    }

    pub fn load_progress(&self) -> Result<Progress, TrainError> {
        let path = self.progress_path();
        let text = fs::read_to_string(&path).map_err(Self::io(&path))?;
        toml::from_str(&text).map_err(|e| TrainError::Checkpoint {
            path,
            message: e.message().to_string(),
        })
    }

    /// Saves a checkpoint: the resumable state, `last`, and `best` when `is_best`.
    pub fn save(
        &self,
        state: &TrainingState,
        progress: &Progress,
        is_best: bool,
    ) -> Result<(), TrainError> {
        let TrainingState {
            model,
            optimizer,
            ema,
            evaluated,
            adversary,
        } = *state;
        let fresh = self.root.join("state.new");
        let old = self.root.join("state.old");
        for dir in [&fresh, &old] {
            if dir.exists() {
                fs::remove_dir_all(dir).map_err(Self::io(dir))?;
            }
        }
        fs::create_dir_all(&fresh).map_err(Self::io(&fresh))?;
        model
            .clone()
            .map_network(|network| network.valid())
            .save_safetensors(&fresh.join("model.safetensors"))?;
        if let Some(ema) = ema {
            model
                .clone()
                .map_network(|_| ema.clone())
                .save_safetensors(&fresh.join("ema.safetensors"))?;
        }
        if let Some(adversary) = adversary {
            adversary.save(&fresh)?;
        }
        let optimizer_path = fresh.join("optimizer.bpk");
        optimizer
            .save(&optimizer_path)
            .map_err(|e| TrainError::Checkpoint {
                path: optimizer_path,
                message: e.to_string(),
            })?;
        let progress_path = fresh.join("progress.toml");
        let text = toml::to_string(progress).expect("progress always serialises");
        fs::write(&progress_path, text).map_err(Self::io(&progress_path))?;

        let state = self.state();
        if state.exists() {
            fs::rename(&state, &old).map_err(Self::io(&state))?;
        }
        fs::rename(&fresh, &state).map_err(Self::io(&fresh))?;
        if old.exists() {
            fs::remove_dir_all(&old).map_err(Self::io(&old))?;
        }
        self.save_weights(evaluated, &self.last())?;
        if is_best {
            self.save_weights(evaluated, &self.best())?;
        }
        Ok(())
    }

    /// Writes weights beside `path` and renames them into place.
    fn save_weights(&self, model: &SrModel, path: &Path) -> Result<(), TrainError> {
        let temp = path.with_extension("safetensors.tmp");
        model.save_safetensors(&temp)?;
        fs::rename(&temp, path).map_err(Self::io(path))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use upres_image::degrade::TestDegradation;
    use upres_metrics::{Channel, Scores};

    fn scores(psnr: f64, lpips: Option<f64>) -> DatasetScores {
        DatasetScores {
            method: "m".into(),
            dataset: "Set5".into(),
            scale: 4,
            degradation: TestDegradation::Bi,
            channel: Channel::Y,
            mean: Scores { psnr, ssim: 0.9 },
            perceptual: lpips.map(|v| ("lpips_alex".to_string(), v)),
            images: Vec::new(),
        }
    }

    #[test]
    fn the_best_checkpoint_has_the_highest_psnr_or_else_the_lowest_lpips() {
        let mut progress = Progress::default();
        assert!(progress.record(1, Some(&scores(30.0, None))));
        assert!(!progress.record(2, Some(&scores(29.0, None))));
        assert!(progress.record(3, Some(&scores(31.0, None))));
        assert_eq!(progress.best(), Some((31.0, 3)));

        let mut adversarial = Progress::default();
        assert!(adversarial.record(1, Some(&scores(30.0, Some(0.30)))));
        // Sharper: lower PSNR, lower LPIPS.
        assert!(adversarial.record(2, Some(&scores(28.0, Some(0.25)))));
        assert!(!adversarial.record(3, Some(&scores(29.0, Some(0.27)))));
        assert_eq!(adversarial.best(), Some((28.0, 2)));
        assert_eq!(adversarial.best_lpips, Some(0.25));
    }
}
