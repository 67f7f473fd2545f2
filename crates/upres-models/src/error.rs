//! Errors of model construction and weight loading.

use std::path::PathBuf;

/// A model could not be built.
#[derive(Debug, thiserror::Error)]
pub enum ModelError {
    /// The architecture cannot upscale by this factor.
    #[error("{arch} does not support scale x{scale} (supported: {supported})")]
    UnsupportedScale {
        /// Architecture name.
        arch: &'static str,
        /// Requested scale.
        scale: usize,
        /// The scales it supports, in words.
        supported: String,
    },
    /// A configuration value is out of range.
    #[error("invalid {arch} configuration: {reason}")]
    InvalidConfig {
        /// Architecture name.
        arch: &'static str,
        /// What is wrong.
        reason: String,
    },
    /// The input tensor does not fit the model.
    #[error("{model}: {reason}")]
    InvalidInput {
        /// Registry name.
        model: &'static str,
        /// What is wrong with the input.
        reason: String,
    },
    /// No registered model has this name.
    #[error("unknown model `{name}` (known models: {known})")]
    UnknownModel {
        /// The requested name.
        name: String,
        /// Registered names, comma-separated.
        known: String,
    },
}

/// Weights could not be read, written or matched to a model.
#[derive(Debug, thiserror::Error)]
pub enum WeightsError {
    /// The PyTorch checkpoint could not be parsed.
    #[error("cannot read PyTorch checkpoint {path}: {message}")]
    Checkpoint {
        /// Checkpoint file.
        path: PathBuf,
        /// Reader message.
        message: String,
    },
    /// A parameter of the model has no tensor in the file.
    #[error("{path}: missing key `{key}` (for parameter `{param}`)")]
    MissingKey {
        /// Weights file.
        path: PathBuf,
        /// Key looked up in the file.
        key: String,
        /// The model parameter it would fill.
        param: String,
    },
    /// The file holds a tensor that the model has no parameter for.
    #[error("{path}: unexpected key `{key}` ({count} unexpected key(s) in all)")]
    UnexpectedKey {
        /// Weights file.
        path: PathBuf,
        /// The first unexpected key, in sorted order.
        key: String,
        /// How many keys were unexpected.
        count: usize,
    },
    /// A tensor's shape differs from the parameter's.
    #[error("{path}: key `{key}` has shape {found:?}, the model expects {expected:?}")]
    ShapeMismatch {
        /// Weights file.
        path: PathBuf,
        /// Key in the file.
        key: String,
        /// Shape of the model parameter.
        expected: Vec<usize>,
        /// Shape in the file.
        found: Vec<usize>,
    },
    /// A tensor could not be applied to its parameter (unsupported dtype, unreadable data).
    #[error("{path}: key `{key}`: {message}")]
    Tensor {
        /// Weights file.
        path: PathBuf,
        /// Key or parameter name.
        key: String,
        /// What failed.
        message: String,
    },
    /// A fixed (non-trained) tensor such as EDSR's mean shift disagrees with the model.
    #[error("{path}: key `{key}` {message}")]
    FixedTensor {
        /// Weights file.
        path: PathBuf,
        /// Key in the file.
        key: String,
        /// How it disagrees.
        message: String,
    },
    /// An upres safetensors file lacks the metadata naming its model and scale.
    #[error("{path}: {message}")]
    Metadata {
        /// Weights file.
        path: PathBuf,
        /// What is missing or malformed.
        message: String,
    },
    /// The model a weights file names cannot be built.
    #[error("{path}: {source}")]
    Model {
        /// Weights file.
        path: PathBuf,
        /// Why the model cannot be built.
        source: ModelError,
    },
    /// Reading or writing a safetensors file failed.
    #[error("safetensors file {path}: {message}")]
    Safetensors {
        /// Weights file.
        path: PathBuf,
        /// Store message.
        message: String,
    },
}
