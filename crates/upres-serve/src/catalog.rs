//! The models a server offers, by name. Requests choose among these names only; a name from
//! a request is never opened as a path.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;
use upres_image::Upscaler;
use upres_infer::model::{AlphaMode, open_method};
use upres_infer::zoo;

/// The largest factor an interpolation is offered at (networks have their own).
pub const MAX_INTERPOLATION_SCALE: usize = 8;

/// A served method.
#[derive(Clone)]
pub struct Entry {
    pub method: Arc<dyn Upscaler>,
    /// The factors it upscales by.
    pub scales: Vec<usize>,
    /// One line for people choosing a model.
    pub description: String,
}

impl Entry {
    pub fn is_interpolation(&self) -> bool {
        self.method.fixed_scale().is_none()
    }
}

#[derive(Debug, thiserror::Error)]
pub enum CatalogError {
    #[error("model '{name}': {reason}")]
    Open { name: String, reason: String },
    #[error("two models are called '{0}'")]
    Duplicate(String),
    #[error("no models to serve")]
    Empty,
}

/// The served models, by name.
#[derive(Clone, Default)]
pub struct Catalog {
    entries: BTreeMap<String, Entry>,
}

impl Catalog {
    /// Every built-in model, bicubic and Lanczos-3.
    pub fn built_in() -> Result<Self, CatalogError> {
        let names = zoo::ZOO
            .iter()
            .map(|m| m.name)
            .chain(["bicubic", "lanczos3"]);
        Self::open(names)
    }

    /// The methods `specs` name, as `upres upscale -m` takes them: built-in models,
    /// interpolations, model files or training runs. A file or run is served under its file
    /// or folder name without extension.
    pub fn open<'a>(specs: impl IntoIterator<Item = &'a str>) -> Result<Self, CatalogError> {
        let mut catalog = Self::default();
        for spec in specs {
            let method = open_method(spec, AlphaMode::Model).map_err(|e| CatalogError::Open {
                name: spec.to_string(),
                reason: e.to_string(),
            })?;
            let name = Path::new(spec)
                .file_stem()
                .and_then(|s| s.to_str())
                .unwrap_or(spec)
                .to_string();
            catalog.insert(&name, Arc::from(method))?;
        }
        if catalog.entries.is_empty() {
            return Err(CatalogError::Empty);
        }
        Ok(catalog)
    }

    /// Adds `method` as `name`.
    pub fn insert(&mut self, name: &str, method: Arc<dyn Upscaler>) -> Result<(), CatalogError> {
        if self.entries.contains_key(name) {
            return Err(CatalogError::Duplicate(name.to_string()));
        }
        let (scales, description) = match method.fixed_scale() {
            Some(scale) => (vec![scale], format!("{}, x{scale}", method.name())),
            None => (
                (1..=MAX_INTERPOLATION_SCALE).collect(),
                format!("{} interpolation (MATLAB imresize)", method.name()),
            ),
        };
        self.entries.insert(
            name.to_string(),
            Entry {
                method,
                scales,
                description,
            },
        );
        Ok(())
    }

    pub fn get(&self, name: &str) -> Option<&Entry> {
        self.entries.get(name)
    }

    pub fn iter(&self) -> impl Iterator<Item = (&str, &Entry)> {
        self.entries
            .iter()
            .map(|(name, entry)| (name.as_str(), entry))
    }

    /// The model used when a request names none: the built-in default at `scale` if served,
    /// else the first network at that scale, else bicubic, else any interpolation.
    pub fn default_for(&self, scale: usize) -> Option<&str> {
        let serves = |name: &str| self.get(name).is_some_and(|e| e.scales.contains(&scale));
        let networks = self
            .iter()
            .filter(|(_, e)| !e.is_interpolation() && e.scales.contains(&scale));
        let interpolations = self
            .iter()
            .filter(|(_, e)| e.is_interpolation() && e.scales.contains(&scale));
        zoo::ZOO
            .iter()
            .filter(|m| m.scale == scale && m.domain == zoo::Domain::Photo)
            .map(|m| m.name)
            .find(|&name| serves(name))
            .or_else(|| networks.map(|(name, _)| name).next())
            .or_else(|| serves("bicubic").then_some("bicubic"))
            .or_else(|| interpolations.map(|(name, _)| name).next())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_prefer_the_zoo_then_bicubic() {
        let catalog = Catalog::built_in().unwrap();
        assert_eq!(catalog.default_for(3), Some("fsrcnn-x3"));
        assert_eq!(catalog.default_for(4), Some("fsrcnn-x4"));
        assert_eq!(catalog.default_for(6), Some("bicubic"));
        assert_eq!(catalog.default_for(9), None);
        assert_eq!(catalog.get("espcn-x3").unwrap().scales, [3]);
        assert!(catalog.get("lanczos3").unwrap().is_interpolation());

        let only_lanczos = Catalog::open(["lanczos3"]).unwrap();
        assert_eq!(only_lanczos.default_for(2), Some("lanczos3"));
        assert!(matches!(
            Catalog::open(["bicubic", "bicubic"]),
            Err(CatalogError::Duplicate(_))
        ));
        let err = Catalog::open(["../../etc/passwd"])
            .err()
            .unwrap()
            .to_string();
        assert!(err.starts_with("model '../../etc/passwd': "), "{err}");
    }
}
