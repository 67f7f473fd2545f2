//! Training data: image folders ([`DataConfig`]), LR/HR patch pairs cut from them with
//! augmentation ([`TrainSet`]), and batches prepared ahead on worker threads ([`Loader`]).
//!
//! LR images come from one of three places: MATLAB bicubic downscaling of the HR image (the
//! default, made once per image, as the papers make their training pairs), a paired LR folder,
//! or a degradation [`Pipeline`](upres_image::degrade::Pipeline) applied to each HR patch.
//!
//! Batch `i` depends only on the seed and `i`, so a resumed run sees exactly the batches an
//! uninterrupted one would have, whatever the number of workers.

mod augment;
mod config;
#[cfg(test)]
mod fixtures;
mod folder;
mod loader;
mod set;

pub use augment::Dihedral;
pub use config::{Augment, ColorJitter, DataConfig, Sampling};
pub use loader::{Batch, Loader, luma_shape, rgb_planes_to_luma};
pub use set::{Pair, TrainSet};

use std::path::PathBuf;
use upres_image::ImageError;

/// Why a training set could not be opened or sampled; each renders as one line.
#[derive(Debug, thiserror::Error)]
pub enum DataError {
    #[error("invalid data config: {0}")]
    Config(String),
    #[error(transparent)]
    List(#[from] upres_image::io::ListError),
    #[error("{}: no images (png, jpg, jpeg, webp, tif, tiff, bmp)", .0.display())]
    NoImages(PathBuf),
    #[error(transparent)]
    Image(#[from] ImageError),
    #[error("no usable training images: all {count} are smaller than the {side}x{side} HR patch")]
    AllTooSmall { count: usize, side: usize },
    #[error("{}: no LR image {stem}.* or {stem}x{scale}.* in {}", .hr.display(), .dir.display())]
    LrMissing {
        hr: PathBuf,
        dir: PathBuf,
        stem: String,
        scale: usize,
    },
    #[error(
        "{}: LR image is {}x{}, expected {}x{} (1/{scale} of its HR image)",
        .lr.display(), .got.0, .got.1, .expected.0, .expected.1
    )]
    LrSize {
        lr: PathBuf,
        got: (usize, usize),
        expected: (usize, usize),
        scale: usize,
    },
    #[error("the degradation made a {}x{} LR patch, expected {side}x{side}", .got.0, .got.1)]
    DegradedSize { got: (usize, usize), side: usize },
    #[error("a data worker stopped unexpectedly")]
    WorkerStopped,
}
