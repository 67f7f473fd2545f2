//! The data section of a training recipe.

use super::DataError;
use serde::{Deserialize, Serialize};
use std::path::PathBuf;
use upres_image::degrade::Pipeline;

/// Where training images come from and how LR/HR pairs are made from them.
///
/// ```toml
/// hr = ["datasets/DIV2K/HR", "datasets/Flickr2K/HR"]
/// patch = 48
///
/// [augment.color_jitter]
/// brightness = [0.9, 1.1]
/// ```
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DataConfig {
    /// HR image folders, read recursively.
    pub hr: Vec<PathBuf>,
    /// A folder of LR images, matched to the HR images by file stem (`<stem>.<ext>` or
    /// `<stem>x{scale}.<ext>`). Without it, LR images are made from the HR images.
    pub lr: Option<PathBuf>,
    /// The LR patch side; HR patches are `patch * scale` on a side.
    #[serde(default = "default_patch")]
    pub patch: usize,
    /// Factors in (0, 1) by which every HR image is also shrunk (MATLAB bicubic) and added
    /// to the set, as the FSRCNN paper enlarges T91 with 0.9, 0.8, 0.7 and 0.6: smaller
    /// copies show the model the same scenes with finer detail. Each copy is drawn as often
    /// as an original image.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub downscales: Vec<f64>,
    /// How a patch's image is chosen: each image equally often (the default), or each patch
    /// position equally often, so large images give more patches (the papers' sub-image sets).
    #[serde(default)]
    pub sampling: Sampling,
    #[serde(default)]
    pub augment: Augment,
    /// Makes each LR patch from its HR patch, per sample; its output must be `patch` on a
    /// side. Without it (and without `lr`), LR images are MATLAB bicubic downscales.
    pub degradation: Option<Pipeline>,
    /// Memory for decoded images, in MiB; images beyond it are decoded from disk per sample.
    #[serde(default = "default_cache_mb")]
    pub cache_mb: usize,
    /// Threads preparing batches ahead of training.
    #[serde(default = "default_workers")]
    pub workers: usize,
}

fn default_patch() -> usize {
    48
}

fn default_cache_mb() -> usize {
    4096
}

fn default_workers() -> usize {
    2
}

impl DataConfig {
    /// The defaults for everything but the HR folders.
    pub fn new(hr: Vec<PathBuf>) -> Self {
        Self {
            hr,
            lr: None,
            patch: default_patch(),
            downscales: Vec::new(),
            sampling: Sampling::default(),
            augment: Augment::default(),
            degradation: None,
            cache_mb: default_cache_mb(),
            workers: default_workers(),
        }
    }

    /// Checks everything that can be checked without touching the disk.
    pub fn check(&self, scale: usize) -> Result<(), DataError> {
        let fail = |reason: &str| Err(DataError::Config(reason.into()));
        if self.hr.is_empty() {
            return fail("hr needs at least one folder");
        }
        if scale == 0 || self.patch == 0 {
            return fail("scale and patch must be positive");
        }
        if self.lr.is_some() && self.degradation.is_some() {
            return fail("lr and degradation are exclusive: LR images come from one or the other");
        }
        if let Some(pipeline) = &self.degradation {
            pipeline.check()?;
        }
        if let Some(bad) = self.downscales.iter().find(|&&f| !(f > 0.0 && f < 1.0)) {
            return fail(&format!(
                "downscale factor {bad} must lie strictly between 0 and 1"
            ));
        }
        if self.lr.is_some() && !self.downscales.is_empty() {
            return fail("downscales need LR images made from the HR images, not an lr folder");
        }
        match &self.augment.color_jitter {
            Some(jitter) => jitter.check(),
            None => Ok(()),
        }
    }
}

/// Which image a patch is cut from.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Sampling {
    /// Every image equally often, whatever its size: a small image's few patches recur often.
    #[default]
    Image,
    /// Every patch position of every image equally often, as in the SRCNN and FSRCNN papers,
    /// which train on all sub-images cut from the set at a fixed stride.
    Position,
}

/// Random augmentation, applied identically to the LR and HR patch of a pair.
///
/// `hflip`, `vflip` and `rot90` (a transpose) each enable one generator of the eight flips and
/// rotations of the square; all three give every one of them with equal probability.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Augment {
    pub hflip: bool,
    pub vflip: bool,
    pub rot90: bool,
    pub color_jitter: Option<ColorJitter>,
}

impl Default for Augment {
    fn default() -> Self {
        Self {
            hflip: true,
            vflip: true,
            rot90: true,
            color_jitter: None,
        }
    }
}

/// Ranges `[lo, hi]` that color factors are drawn from uniformly; `[1, 1]` (the default)
/// leaves that property unchanged.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ColorJitter {
    /// Multiplies every sample.
    pub brightness: [f32; 2],
    /// Blends with the image's mean gray (0 gives flat gray).
    pub contrast: [f32; 2],
    /// Blends with each pixel's gray (0 gives a grayscale image).
    pub saturation: [f32; 2],
}

impl Default for ColorJitter {
    fn default() -> Self {
        Self {
            brightness: [1.0, 1.0],
            contrast: [1.0, 1.0],
            saturation: [1.0, 1.0],
        }
    }
}

impl ColorJitter {
    fn check(&self) -> Result<(), DataError> {
        for (name, [lo, hi]) in [
            ("brightness", self.brightness),
            ("contrast", self.contrast),
            ("saturation", self.saturation),
        ] {
            if !(lo.is_finite() && hi.is_finite() && 0.0 <= lo && lo <= hi) {
                return Err(DataError::Config(format!(
                    "color_jitter {name} range [{lo}, {hi}] must be ordered, finite and non-negative"
                )));
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn minimal_recipe_takes_defaults() {
        let config: DataConfig = toml::from_str(r#"hr = ["a", "b"]"#).unwrap();
        assert_eq!(config, DataConfig::new(vec!["a".into(), "b".into()]));
        assert!(config.augment.hflip && config.augment.vflip && config.augment.rot90);
        assert_eq!(
            (config.patch, config.cache_mb, config.workers),
            (48, 4096, 2)
        );
    }

    #[test]
    fn full_recipe_round_trips() {
        let config: DataConfig = toml::from_str(
            r#"
            hr = ["a"]
            patch = 64
            downscales = [0.9, 0.6]
            sampling = "position"
            cache_mb = 100
            workers = 4

            [augment]
            vflip = false

            [augment.color_jitter]
            brightness = [0.8, 1.2]

            [[degradation.steps]]
            type = "downscale"
            scale = 4
            "#,
        )
        .unwrap();
        assert!(!config.augment.vflip && config.augment.hflip);
        assert_eq!(config.downscales, [0.9, 0.6]);
        assert_eq!(config.sampling, Sampling::Position);
        let jitter = config.augment.color_jitter.as_ref().unwrap();
        assert_eq!(jitter.brightness, [0.8, 1.2]);
        assert_eq!(jitter.saturation, [1.0, 1.0]);
        assert_eq!(config.degradation.as_ref().unwrap().steps.len(), 1);
        config.check(4).unwrap();
        let back: DataConfig = toml::from_str(&toml::to_string(&config).unwrap()).unwrap();
        assert_eq!(back, config);
    }

    #[test]
    fn bad_recipes_are_rejected() {
        assert!(toml::from_str::<DataConfig>("hr = [\"a\"]\npatches = 3").is_err());
        assert!(toml::from_str::<DataConfig>("hr = [\"a\"]\n[augment]\nflip = true").is_err());
        assert!(toml::from_str::<DataConfig>("hr = [\"a\"]\nsampling = \"area\"").is_err());
        let mut config = DataConfig::new(vec!["a".into()]);
        config.augment.color_jitter = Some(ColorJitter {
            contrast: [1.2, 0.8],
            ..ColorJitter::default()
        });
        assert!(matches!(config.check(2), Err(DataError::Config(_))));
        let mut config = DataConfig::new(vec!["a".into()]);
        config.lr = Some("lr".into());
        config.degradation = Some(Pipeline::default());
        assert!(config.check(2).is_err());
        assert!(DataConfig::new(vec![]).check(2).is_err());
        for factors in [vec![1.0], vec![0.8, 0.0], vec![f64::NAN]] {
            let mut config = DataConfig::new(vec!["a".into()]);
            config.downscales = factors;
            assert!(matches!(config.check(2), Err(DataError::Config(_))));
        }
        let mut config = DataConfig::new(vec!["a".into()]);
        (config.lr, config.downscales) = (Some("lr".into()), vec![0.8]);
        assert!(config.check(2).is_err());
        assert!(DataConfig::new(vec!["a".into()]).check(0).is_err());
    }
}
