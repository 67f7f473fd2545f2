use std::path::PathBuf;

use crate::data::DataError;

/// Why a training run could not start or go on.
#[derive(Debug, thiserror::Error)]
pub enum TrainError {
    // The cause is printed by the error chain.
    #[error("{}", path.display())]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("recipe {}: {message}", path.display())]
    Recipe { path: PathBuf, message: String },
    #[error(transparent)]
    Data(#[from] DataError),
    #[error(transparent)]
    Model(#[from] upres_models::ModelError),
    #[error(transparent)]
    Weights(#[from] upres_models::WeightsError),
    #[error(transparent)]
    Perceptual(#[from] upres_models::perceptual::PerceptualError),
    #[error("validation: {0}")]
    Eval(#[from] upres_metrics::evaluate::EvalError),
    #[error("checkpoint {}: {message}", path.display())]
    Checkpoint { path: PathBuf, message: String },
    #[error("device {name}: {message}")]
    Device { name: String, message: String },
    #[error("precision {0}: unknown; use f32 or bf16")]
    Precision(String),
    #[error("teacher {name}: {message}")]
    Teacher { name: String, message: String },
    #[error("the loss became {value} at iteration {iteration}: lower the learning rate")]
    Diverged { iteration: usize, value: f32 },
}
