//! Images in and out of upres: decoding and encoding with bit depth, alpha and metadata kept
//! ([`io`]), BT.601 color ([`color`]), MATLAB-compatible resampling ([`resize`]), and
//! the [`Upscaler`] interface that every SR method implements.

mod buffer;
pub mod color;
pub mod degrade;
pub mod dicom;
mod error;
pub mod geotiff;
pub mod io;
pub mod resize;
pub mod stream;
mod tiff_strips;
mod upscaler;

pub use buffer::{Depth, Image, Layout};
pub use error::{ImageError, Result};
pub use upscaler::{Interpolation, UpscaleError, Upscaler};
