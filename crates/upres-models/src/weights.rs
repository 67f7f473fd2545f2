//! Weight stores.
//!
//! - upres's own files: safetensors with upres's parameter names (the module paths, e.g.
//!   `body.3.conv1.weight`), written by [`save_safetensors`] and read by [`load_safetensors`].
//! - PyTorch checkpoints (`.pth` / `.pt`) under the official key names of the reference
//!   repositories, read by [`load_pytorch`]: each architecture maps its parameter paths to those
//!   keys ([`PytorchKeys`]). A state dict may be nested under `params_ema` (preferred), `params`
//!   (BasicSR, Real-ESRGAN) or `state_dict`, and may carry DataParallel's `module.` prefix.
//!   Batch norm's `num_batches_tracked` is ignored; fixed tensors such as EDSR's mean shift are
//!   checked against the model ([`FixedTensor`]).
//!
//! Every mismatch is a [`WeightsError`] that names the key: a key the model needs and the file
//! lacks, a key the file has and the model does not use, a shape that differs.

use std::collections::HashMap;
use std::fs::File;
use std::io::Read;
use std::path::{Path, PathBuf};

use burn::store::pytorch_reader::{PytorchReader, Tensor as PtTensor};
use burn::store::{ApplyError, ApplyResult, ModuleSnapshot, ModuleStore, SafetensorsStore, bridge};

use crate::error::WeightsError;

/// A tensor that PyTorch checkpoints carry but that is fixed in upres (not a parameter): when
/// present in a checkpoint its values must match.
#[derive(Debug, Clone, PartialEq)]
pub struct FixedTensor {
    /// Official key.
    pub key: String,
    /// Expected values, row-major.
    pub values: Vec<f32>,
}

impl FixedTensor {
    /// A fixed tensor `key` with `values`.
    pub fn new(key: &str, values: Vec<f32>) -> Self {
        Self {
            key: key.to_string(),
            values,
        }
    }
}

/// How an architecture's parameters are named in the reference PyTorch implementation.
pub trait PytorchKeys {
    /// The official key of the parameter at upres path `param` (`None`: no counterpart).
    fn pytorch_key(&self, param: &str) -> Option<String>;

    /// Non-parameter tensors that checkpoints may carry, with their expected values.
    fn fixed_tensors(&self) -> Vec<FixedTensor> {
        Vec::new()
    }
}

/// PyTorch's name for a parameter leaf: PReLU `alpha` and batch norm `gamma` are `weight`,
/// batch norm `beta` is `bias`.
pub fn torch_leaf(leaf: &str) -> &str {
    match leaf {
        "alpha" | "gamma" => "weight",
        "beta" => "bias",
        other => other,
    }
}

/// Dictionaries a state dict may be nested in, by preference.
const NESTING_KEYS: [&str; 3] = ["params_ema", "params", "state_dict"];

/// Relative tolerance when checking fixed tensors.
const FIXED_TOLERANCE: f32 = 1e-4;

/// Loads a PyTorch checkpoint with official key names into `model`.
pub fn load_pytorch<M>(model: &mut M, path: &Path) -> Result<(), WeightsError>
where
    M: ModuleSnapshot + PytorchKeys,
{
    let reader = PytorchReader::new(path).map_err(|e| WeightsError::Checkpoint {
        path: path.to_path_buf(),
        message: e.to_string(),
    })?;
    let mut tensors = state_dict(reader.into_tensors());

    let mut loaded = Vec::new();
    for param in model.collect(None, None, true) {
        let key = model
            .pytorch_key(&param.name)
            .ok_or_else(|| WeightsError::Tensor {
                path: path.to_path_buf(),
                key: param.name.clone(),
                message: "parameter has no PyTorch counterpart".into(),
            })?;
        let tensor = tensors
            .remove(&key)
            .ok_or_else(|| WeightsError::MissingKey {
                path: path.to_path_buf(),
                key: key.clone(),
                param: param.name.clone(),
            })?;
        let expected = param.shape.to_vec();
        if tensor.shape() != expected.as_slice() {
            return Err(WeightsError::ShapeMismatch {
                path: path.to_path_buf(),
                key,
                expected,
                found: tensor.shape().to_vec(),
            });
        }
        let mut pack = bridge::from_pytorch(tensor);
        pack.name = param.name;
        loaded.push(pack);
    }

    for fixed in model.fixed_tensors() {
        if let Some(tensor) = tensors.remove(&fixed.key) {
            check_fixed(path, &fixed, tensor)?;
        }
    }
    tensors.retain(|key, _| !key.ends_with(".num_batches_tracked"));
    if let Some(key) = tensors.keys().min() {
        return Err(WeightsError::UnexpectedKey {
            path: path.to_path_buf(),
            key: key.clone(),
            count: tensors.len(),
        });
    }

    let result = model.apply(loaded, None, None, true);
    check_applied(path, result)
}

/// The flat state dict of a checkpoint: unnests `params_ema` / `params` / `state_dict` and
/// strips a common `module.` prefix.
fn state_dict(tensors: HashMap<String, PtTensor>) -> HashMap<String, PtTensor> {
    let nesting = NESTING_KEYS.iter().find(|nest| {
        let prefix = format!("{nest}.");
        tensors.keys().any(|k| k.starts_with(&prefix))
    });
    let tensors: HashMap<String, PtTensor> = match nesting {
        Some(nest) => {
            let prefix = format!("{nest}.");
            tensors
                .into_iter()
                .filter_map(|(k, t)| k.strip_prefix(&prefix).map(|k| (k.to_string(), t)))
                .collect()
        }
        None => tensors,
    };
    if !tensors.is_empty() && tensors.keys().all(|k| k.starts_with("module.")) {
        tensors
            .into_iter()
            .map(|(k, t)| (k["module.".len()..].to_string(), t))
            .collect()
    } else {
        tensors
    }
}

fn check_fixed(path: &Path, fixed: &FixedTensor, tensor: PtTensor) -> Result<(), WeightsError> {
    let key = fixed.key.clone();
    let values = bridge::into_data(bridge::from_pytorch(tensor))
        .map_err(|e| e.to_string())
        .and_then(|data| data.try_into_vec_as::<f32>().map_err(|e| format!("{e:?}")))
        .map_err(|message| WeightsError::Tensor {
            path: path.to_path_buf(),
            key: key.clone(),
            message,
        })?;
    let scale = fixed.values.iter().fold(1.0f32, |m, v| m.max(v.abs()));
    let matches = values.len() == fixed.values.len()
        && values
            .iter()
            .zip(&fixed.values)
            .all(|(a, b)| (a - b).abs() <= FIXED_TOLERANCE * scale);
    if matches {
        Ok(())
    } else {
        Err(WeightsError::FixedTensor {
            path: path.to_path_buf(),
            key,
            message: format!(
                "holds {values:?}, the model expects {:?} (for EDSR/RCAN's mean shift: set \
                 rgb_range to the range the checkpoint was trained with)",
                fixed.values
            ),
        })
    }
}

/// Turns the outcome of applying tensors into an error naming the first offending key.
fn check_applied(path: &Path, result: ApplyResult) -> Result<(), WeightsError> {
    if let Some(error) = result.errors.first() {
        return Err(match error {
            ApplyError::ShapeMismatch {
                path: key,
                expected,
                found,
            } => WeightsError::ShapeMismatch {
                path: path.to_path_buf(),
                key: key.clone(),
                expected: expected.to_vec(),
                found: found.to_vec(),
            },
            other => WeightsError::Tensor {
                path: path.to_path_buf(),
                key: apply_error_path(other).to_string(),
                message: other.to_string(),
            },
        });
    }
    if let Some((param, _)) = result.missing.first() {
        return Err(WeightsError::MissingKey {
            path: path.to_path_buf(),
            key: param.clone(),
            param: param.clone(),
        });
    }
    if let Some(key) = result.unused.iter().min() {
        return Err(WeightsError::UnexpectedKey {
            path: path.to_path_buf(),
            key: key.clone(),
            count: result.unused.len(),
        });
    }
    Ok(())
}

fn apply_error_path(error: &ApplyError) -> &str {
    match error {
        ApplyError::ShapeMismatch { path, .. }
        | ApplyError::DTypeMismatch { path, .. }
        | ApplyError::AdapterError { path, .. }
        | ApplyError::LoadError { path, .. } => path,
    }
}

/// Writes `model`'s parameters to a safetensors file under upres's names (overwriting), with
/// `metadata` key/value pairs in its header.
pub fn save_safetensors<M: ModuleSnapshot>(
    model: &M,
    path: &Path,
    metadata: &[(&str, &str)],
) -> Result<(), WeightsError> {
    let mut store = metadata.iter().fold(
        SafetensorsStore::from_file(path)
            .skip_enum_variants(true)
            .overwrite(true),
        |store, (key, value)| store.metadata(*key, *value),
    );
    let error = |message: String| WeightsError::Safetensors {
        path: path.to_path_buf(),
        message,
    };
    model
        .save_into(&mut store)
        .map_err(|e| error(e.to_string()))?;
    // The store writes owner-only files; a model file is meant to be shared like any other.
    #[cfg(unix)]
    std::fs::set_permissions(path, std::os::unix::fs::PermissionsExt::from_mode(0o644))
        .map_err(|e| error(e.to_string()))?;
    Ok(())
}

/// Where upres weights are read from: a file, or bytes built into the binary (the zoo).
#[derive(Debug, Clone, Copy)]
pub enum Source<'a> {
    /// A safetensors file.
    File(&'a Path),
    /// The bytes of a safetensors file, named for messages.
    Bytes {
        /// What error messages call it.
        name: &'a str,
        /// The file's contents.
        bytes: &'a [u8],
    },
}

impl Source<'_> {
    /// The name error messages give it.
    pub fn label(&self) -> PathBuf {
        match self {
            Source::File(path) => path.to_path_buf(),
            Source::Bytes { name, .. } => PathBuf::from(name),
        }
    }

    fn store(&self) -> SafetensorsStore {
        match self {
            Source::File(path) => SafetensorsStore::from_file(*path),
            Source::Bytes { bytes, .. } => SafetensorsStore::from_bytes(Some(bytes.to_vec())),
        }
    }
}

/// The `__metadata__` key/value pairs of a safetensors file's header (reads the header only).
pub fn read_safetensors_metadata(path: &Path) -> Result<HashMap<String, String>, WeightsError> {
    read_metadata(Source::File(path))
}

/// The `__metadata__` key/value pairs of safetensors weights (reads the header only).
pub fn read_metadata(source: Source) -> Result<HashMap<String, String>, WeightsError> {
    let failed = |message: String| WeightsError::Safetensors {
        path: source.label(),
        message,
    };
    let mut reader: Box<dyn Read> = match source {
        Source::File(path) => Box::new(File::open(path).map_err(|e| failed(e.to_string()))?),
        Source::Bytes { bytes, .. } => Box::new(bytes),
    };
    let mut len = [0u8; 8];
    reader
        .read_exact(&mut len)
        .map_err(|e| failed(format!("header length: {e}")))?;
    let len = usize::try_from(u64::from_le_bytes(len))
        .ok()
        .filter(|&n| n <= MAX_HEADER_BYTES)
        .ok_or_else(|| failed("header length out of range".into()))?;
    let mut header = vec![0u8; len];
    reader
        .read_exact(&mut header)
        .map_err(|e| failed(format!("header: {e}")))?;
    let header: serde_json::Value =
        serde_json::from_slice(&header).map_err(|e| failed(format!("header: {e}")))?;
    Ok(header
        .get("__metadata__")
        .and_then(|m| m.as_object())
        .map(|m| {
            m.iter()
                .filter_map(|(k, v)| Some((k.clone(), v.as_str()?.to_string())))
                .collect()
        })
        .unwrap_or_default())
}

/// Largest safetensors header accepted (the format's own limit is 100 MB).
const MAX_HEADER_BYTES: usize = 100_000_000;

/// Reads a safetensors file written by [`save_safetensors`] into `model`; every parameter must
/// be present with its shape, and every tensor in the file must belong to a parameter.
pub fn load_safetensors<M: ModuleSnapshot>(model: &mut M, path: &Path) -> Result<(), WeightsError> {
    load(model, Source::File(path))
}

/// [`load_safetensors`] from any [`Source`].
pub fn load<M: ModuleSnapshot>(model: &mut M, source: Source) -> Result<(), WeightsError> {
    let mut store = source
        .store()
        .skip_enum_variants(true)
        .allow_partial(true)
        .validate(false);
    let result = store
        .apply_to(model)
        .map_err(|e| WeightsError::Safetensors {
            path: source.label(),
            message: e.to_string(),
        })?;
    check_applied(&source.label(), result)
}
