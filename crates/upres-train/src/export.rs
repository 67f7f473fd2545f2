//! A training run as one `.upres` model file: the run's best weights with, in the metadata,
//! the recipe that trained them and their validation scores, so the file alone says what it
//! is and how to make it again.

use std::fs;
use std::path::Path;

use burn::tensor::Device;

use crate::checkpoint::Checkpoint;
use crate::error::TrainError;

/// Metadata key of the recipe (TOML) in a `.upres` file.
pub const META_RECIPE: &str = "upres.recipe";
/// Metadata key of the validation scores of the exported weights.
pub const META_VALIDATION: &str = "upres.validation";

/// Writes `run`'s best weights to `out` (through a temporary file) with the recipe and the
/// validation scores of the best iteration in the metadata.
pub fn export_run(run: &Path, out: &Path) -> Result<(), TrainError> {
    let checkpoint = Checkpoint::new(run);
    let progress = checkpoint.load_progress()?;
    let recipe_path = checkpoint.recipe();
    let recipe = fs::read_to_string(&recipe_path).map_err(Checkpoint::io(&recipe_path))?;
    let model = upres_models::load(&checkpoint.best(), &Device::flex())?;
    let validation_path = run.join("validation.csv");
    let csv = fs::read_to_string(&validation_path).map_err(Checkpoint::io(&validation_path))?;
    let validation = progress
        .best_iteration
        .map(|iteration| best_scores(&csv, iteration, model.scale()))
        .unwrap_or_default();
    let temp = out.with_extension("upres.tmp");
    model.save_with_metadata(
        &temp,
        &[(META_RECIPE, &recipe), (META_VALIDATION, &validation)],
    )?;
    fs::rename(&temp, out).map_err(Checkpoint::io(out))
}

/// `Set5 x3: 31.5453 dB / 0.89014, ... (iteration N)` from `validation.csv` rows
/// (`iteration,dataset,psnr,ssim`) of `iteration`.
fn best_scores(csv: &str, iteration: usize, scale: usize) -> String {
    let scores = csv
        .lines()
        .skip(1)
        .filter_map(|line| {
            let fields: Vec<&str> = line.split(',').collect();
            let [at, dataset, psnr, ssim] = fields.as_slice() else {
                return None;
            };
            (at.parse() == Ok(iteration)).then(|| format!("{dataset} x{scale}: {psnr} dB / {ssim}"))
        })
        .collect::<Vec<_>>();
    format!("{} (iteration {iteration})", scores.join(", "))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scores_of_the_best_iteration() {
        let csv = "iteration,dataset,psnr,ssim\n\
                   5000,Set5,31.1,0.88\n5000,Set14,28.2,0.80\n\
                   10000,Set5,31.5,0.89\n10000,Set14,28.5,0.81\n";
        assert_eq!(
            best_scores(csv, 10000, 3),
            "Set5 x3: 31.5 dB / 0.89, Set14 x3: 28.5 dB / 0.81 (iteration 10000)"
        );
    }
}
