//! The zoo: models trained by upres, built into the binary, so that `-m fsrcnn-x3` and the
//! default model work offline on a fresh machine.
//!
//! Each file in `models/` is a `.upres` model file: safetensors weights whose metadata names
//! the architecture, scale and channels, the recipe that trained it and its validation
//! scores. `docs/zoo.md` lists every model with its scores beside its paper's and the
//! commands that reproduce it.

use burn::tensor::Device;
use std::collections::HashMap;
use std::path::PathBuf;
use upres_models::{Source, SrModel, WeightsError};

/// What a built-in model was trained on, and so what it is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Domain {
    /// Natural images (T91, BSDS200): the defaults.
    Photo,
    /// Rendered text pages (`upres text pages`): the text preset, for scans of documents.
    Text,
}

/// A built-in model.
#[derive(Debug)]
pub struct ZooModel {
    /// The name `-m` takes.
    pub name: &'static str,
    /// Upscaling factor.
    pub scale: usize,
    /// What it was trained on.
    pub domain: Domain,
    /// The `.upres` file.
    pub bytes: &'static [u8],
}

macro_rules! zoo_file {
    ($file:literal) => {
        include_bytes!(concat!(env!("CARGO_MANIFEST_DIR"), "/../../models/", $file))
    };
}

/// Every built-in model, best first at each scale (the first photo model at a scale is its
/// default).
pub const ZOO: &[ZooModel] = &[
    ZooModel {
        name: "fsrcnn-x2",
        scale: 2,
        domain: Domain::Photo,
        bytes: zoo_file!("fsrcnn-x2.upres"),
    },
    ZooModel {
        name: "fsrcnn-x3",
        scale: 3,
        domain: Domain::Photo,
        bytes: zoo_file!("fsrcnn-x3.upres"),
    },
    ZooModel {
        name: "espcn-x3",
        scale: 3,
        domain: Domain::Photo,
        bytes: zoo_file!("espcn-x3.upres"),
    },
    ZooModel {
        name: "fsrcnn-x4",
        scale: 4,
        domain: Domain::Photo,
        bytes: zoo_file!("fsrcnn-x4.upres"),
    },
    ZooModel {
        name: "text-x2",
        scale: 2,
        domain: Domain::Text,
        bytes: zoo_file!("text-x2.upres"),
    },
];

/// The built-in model called `name`.
pub fn find(name: &str) -> Option<&'static ZooModel> {
    ZOO.iter().find(|m| m.name == name)
}

/// Where imported models live, so that `-m NAME` finds `NAME.upres` there: `UPRES_MODELS`,
/// else `$XDG_DATA_HOME/upres/models`, else `~/.local/share/upres/models`.
pub fn model_dir() -> Option<PathBuf> {
    let var = |name: &str| {
        std::env::var_os(name)
            .filter(|v| !v.is_empty())
            .map(PathBuf::from)
    };
    var("UPRES_MODELS")
        .or_else(|| var("XDG_DATA_HOME").map(|d| d.join("upres/models")))
        .or_else(|| var("HOME").map(|d| d.join(".local/share/upres/models")))
}

/// The built-in model used when none is named, at `scale`.
pub fn default_for(scale: usize) -> Option<&'static ZooModel> {
    best_for(Domain::Photo, scale)
}

/// The best built-in model for `domain` at `scale`.
pub fn best_for(domain: Domain, scale: usize) -> Option<&'static ZooModel> {
    ZOO.iter().find(|m| m.scale == scale && m.domain == domain)
}

impl ZooModel {
    fn source(&self) -> Source<'static> {
        Source::Bytes {
            name: self.name,
            bytes: self.bytes,
        }
    }

    /// Builds the network and loads its weights.
    pub fn load(&self, device: &Device) -> Result<SrModel, WeightsError> {
        upres_models::load_from(self.source(), device)
    }

    /// The file's metadata: architecture, scale, channels, recipe, scores.
    pub fn metadata(&self) -> Result<HashMap<String, String>, WeightsError> {
        upres_models::weights::read_metadata(self.source())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_zoo_file_loads_at_its_scale() {
        let device = Device::flex();
        for entry in ZOO {
            let model = entry.load(&device).unwrap();
            assert_eq!(model.scale(), entry.scale, "{}", entry.name);
            assert!(entry.metadata().unwrap().contains_key("upres.recipe"));
        }
        assert_eq!(default_for(3).unwrap().name, "fsrcnn-x3");
        assert_eq!(default_for(2).unwrap().name, "fsrcnn-x2");
        assert_eq!(best_for(Domain::Text, 2).unwrap().name, "text-x2");
        assert!(find("no-such-model").is_none());
    }
}
