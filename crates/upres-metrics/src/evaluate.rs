//! The benchmark protocol over a dataset folder: HR images cropped to a multiple of the scale,
//! LR made by MATLAB bicubic (or read from the dataset's `LR_bicubic/X{s}`) or by another of
//! the test-set degradations ([`TestDegradation`]: BD, DN, JPEG30), the method's output
//! quantized like a saved file, and scores under [`Protocol`].

use crate::perceptual::PerceptualDistance;
use crate::protocol::{Channel, Protocol, Scores, compare};
use std::path::{Path, PathBuf};
use upres_image::degrade::TestDegradation;
use upres_image::{Image, ImageError, Upscaler, io};

/// Why an evaluation stopped.
#[derive(Debug, thiserror::Error)]
pub enum EvalError {
    #[error(transparent)]
    Image(#[from] ImageError),
    #[error("{dataset}: {reason}")]
    Dataset { dataset: PathBuf, reason: String },
    #[error("{method} on {image}: {reason}")]
    Method {
        method: String,
        image: String,
        reason: String,
    },
}

/// Where the low-resolution inputs come from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LowResSource {
    /// MATLAB bicubic downscaling of the cropped HR image, made here (the same as
    /// `Degraded(TestDegradation::Bi)`).
    Bicubic,
    /// The dataset's own `LR_bicubic/X{s}/{name}x{s}.png` files (bicubic).
    Disk,
    /// A test-set degradation of the cropped HR image, made here, deterministically.
    Degraded(TestDegradation),
}

impl LowResSource {
    /// The degradation the LR images carry.
    pub fn degradation(self) -> TestDegradation {
        match self {
            LowResSource::Bicubic | LowResSource::Disk => TestDegradation::Bi,
            LowResSource::Degraded(d) => d,
        }
    }
}

/// A benchmark folder laid out as `<root>/HR/*` (plus `LR_bicubic/X{s}` for [`LowResSource::Disk`]).
#[derive(Clone, Debug)]
pub struct Dataset {
    name: String,
    root: PathBuf,
    high_res: Vec<PathBuf>,
}

impl Dataset {
    pub fn open(root: &Path) -> Result<Self, EvalError> {
        let hr_dir = root.join("HR");
        let err = |reason: String| EvalError::Dataset {
            dataset: root.to_path_buf(),
            reason,
        };
        let entries = std::fs::read_dir(&hr_dir)
            .map_err(|e| err(format!("cannot list {}: {e}", hr_dir.display())))?;
        let mut high_res: Vec<PathBuf> = entries
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| upres_image::io::is_image_path(p))
            .collect();
        if high_res.is_empty() {
            return Err(err(format!("no images in {}", hr_dir.display())));
        }
        high_res.sort();
        let name = root
            .canonicalize()
            .unwrap_or_else(|_| root.to_path_buf())
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| "dataset".into());
        Ok(Self {
            name,
            root: root.to_path_buf(),
            high_res,
        })
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    pub fn len(&self) -> usize {
        self.high_res.len()
    }

    pub fn is_empty(&self) -> bool {
        self.high_res.is_empty()
    }

    /// The image names (file stems), in evaluation order.
    pub fn image_names(&self) -> impl Iterator<Item = String> + '_ {
        self.high_res.iter().map(|p| stem(p))
    }

    /// The HR image as the benchmarks use it: RGB (gray expanded, as EDSR's loader does),
    /// without alpha, cropped to a multiple of `scale`.
    pub fn high_res(&self, index: usize, scale: usize) -> Result<Image, EvalError> {
        let decoded = io::read(&self.high_res[index])?;
        let (color, _alpha) = decoded.image.to_rgb().split_alpha();
        Ok(color.crop_to_multiple(scale)?)
    }

    /// The LR input for image `index`, checked to be exactly 1/scale of the cropped HR.
    pub fn low_res(
        &self,
        index: usize,
        high_res: &Image,
        scale: usize,
        source: LowResSource,
    ) -> Result<Image, EvalError> {
        let low = match source {
            LowResSource::Bicubic | LowResSource::Degraded(_) => {
                source.degradation().apply(high_res, scale)?
            }
            LowResSource::Disk => {
                let name = stem(&self.high_res[index]);
                let path = self
                    .root
                    .join("LR_bicubic")
                    .join(format!("X{scale}"))
                    .join(format!("{name}x{scale}.png"));
                let (color, _alpha) = io::read(&path)?.image.to_rgb().split_alpha();
                color
            }
        };
        let want = (high_res.width() / scale, high_res.height() / scale);
        if (low.width(), low.height()) != want {
            return Err(EvalError::Dataset {
                dataset: self.root.clone(),
                reason: format!(
                    "LR of {} is {}x{}, expected {}x{}",
                    stem(&self.high_res[index]),
                    low.width(),
                    low.height(),
                    want.0,
                    want.1
                ),
            });
        }
        Ok(low)
    }
}

fn stem(path: &Path) -> String {
    path.file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default()
}

/// One image's scores.
#[derive(Clone, Debug, serde::Serialize)]
pub struct ImageScores {
    pub name: String,
    #[serde(flatten)]
    pub scores: Scores,
    /// The perceptual distance, when one was asked for.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub perceptual: Option<f64>,
}

/// A method on a dataset at a scale: the mean scores and each image's.
#[derive(Clone, Debug, serde::Serialize)]
pub struct DatasetScores {
    pub method: String,
    pub dataset: String,
    pub scale: usize,
    /// How the LR inputs were made (BI, BD, DN, JPEG30).
    pub degradation: TestDegradation,
    #[serde(skip)]
    pub channel: Channel,
    pub mean: Scores,
    /// The perceptual column's name and mean, when one was asked for.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub perceptual: Option<(String, f64)>,
    pub images: Vec<ImageScores>,
}

/// One benchmark image through a method: the reference, the input and the output.
#[derive(Clone, Debug)]
pub struct Restoration {
    /// The HR image, cropped to a multiple of the scale.
    pub high: Image,
    /// The LR input made from it.
    pub low: Image,
    /// The method's output, rounded to the HR depth as a saved file would be.
    pub restored: Image,
}

/// Runs `method` on image `index` of `dataset` at `scale`, as [`evaluate`] does for each image.
pub fn restore(
    method: &dyn Upscaler,
    dataset: &Dataset,
    index: usize,
    scale: usize,
    source: LowResSource,
) -> Result<Restoration, EvalError> {
    let high = dataset.high_res(index, scale)?;
    let low = dataset.low_res(index, &high, scale, source)?;
    let mut restored = method
        .upscale(&low, scale)
        .map_err(|e| EvalError::Method {
            method: method.name(),
            image: stem(&dataset.high_res[index]),
            reason: e.to_string(),
        })?
        .to_depth(high.depth());
    restored.quantize();
    Ok(Restoration {
        high,
        low,
        restored,
    })
}

/// Runs `method` over every image of `dataset` at `scale` and scores it under the papers'
/// protocol (or RGB). The method's output is rounded to the HR depth, as a saved file would be.
pub fn evaluate(
    method: &dyn Upscaler,
    dataset: &Dataset,
    scale: usize,
    source: LowResSource,
    channel: Channel,
) -> Result<DatasetScores, EvalError> {
    evaluate_with(method, dataset, scale, source, channel, None)
}

/// [`evaluate`], plus a perceptual distance on the RGB images with the same border cropped.
pub fn evaluate_with(
    method: &dyn Upscaler,
    dataset: &Dataset,
    scale: usize,
    source: LowResSource,
    channel: Channel,
    perceptual: Option<&dyn PerceptualDistance>,
) -> Result<DatasetScores, EvalError> {
    evaluate_observed(
        method,
        dataset,
        scale,
        source,
        channel,
        perceptual,
        &mut |_, _| Ok(()),
    )
}

/// [`evaluate_with`], handing each image's [`Restoration`] (with its index) to `observe`, so
/// that a caller can keep parts of the outputs it scores without running the method again.
pub fn evaluate_observed(
    method: &dyn Upscaler,
    dataset: &Dataset,
    scale: usize,
    source: LowResSource,
    channel: Channel,
    perceptual: Option<&dyn PerceptualDistance>,
    observe: &mut dyn FnMut(usize, &Restoration) -> Result<(), EvalError>,
) -> Result<DatasetScores, EvalError> {
    let protocol = Protocol {
        channel,
        ..Protocol::papers(scale)
    };
    let mut images = Vec::with_capacity(dataset.len());
    for (index, name) in dataset.image_names().enumerate() {
        let restoration = restore(method, dataset, index, scale, source)?;
        observe(index, &restoration)?;
        let Restoration { high, restored, .. } = restoration;
        let method_err = |reason: String| EvalError::Method {
            method: method.name(),
            image: name.clone(),
            reason,
        };
        let scores = compare(&restored, &high, protocol).map_err(|e| method_err(e.to_string()))?;
        let perceptual = match perceptual {
            Some(metric) => {
                let crop = |image: &Image| {
                    let b = protocol.crop_border;
                    image
                        .crop(b, b, image.width() - 2 * b, image.height() - 2 * b)
                        .map_err(|e| method_err(e.to_string()))
                };
                let distance = metric
                    .distance(&crop(&restored)?, &crop(&high)?)
                    .map_err(|e| method_err(format!("{}: {e}", metric.name())))?;
                Some(distance)
            }
            None => None,
        };
        images.push(ImageScores {
            name,
            scores,
            perceptual,
        });
    }
    let n = images.len() as f64;
    let mean = Scores {
        psnr: images.iter().map(|i| i.scores.psnr).sum::<f64>() / n,
        ssim: images.iter().map(|i| i.scores.ssim).sum::<f64>() / n,
    };
    let perceptual = perceptual.map(|metric| {
        let total: f64 = images.iter().filter_map(|i| i.perceptual).sum();
        (metric.name(), total / n)
    });
    Ok(DatasetScores {
        method: method.name(),
        dataset: dataset.name().to_string(),
        scale,
        degradation: source.degradation(),
        channel,
        mean,
        perceptual,
        images,
    })
}
