use std::path::{Path, PathBuf};

/// Everything that can go wrong reading, writing or transforming an image.
///
/// Each variant renders as one line that names the file (where there is one) and the reason.
#[derive(Debug, thiserror::Error)]
pub enum ImageError {
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{path}: cannot decode: {reason}")]
    Decode { path: PathBuf, reason: String },
    #[error("{path}: cannot encode: {reason}")]
    Encode { path: PathBuf, reason: String },
    #[error("{path}: unsupported: {reason}")]
    Unsupported { path: PathBuf, reason: String },
    /// Over the caller's pixel limit, found from the header before any pixel was decoded.
    #[error("{path}: {width}x{height} is more than the allowed {max} pixels")]
    TooManyPixels {
        path: PathBuf,
        width: u32,
        height: u32,
        max: u64,
    },
    #[error("{0}")]
    InvalidArgument(String),
}

impl ImageError {
    pub(crate) fn io(path: &Path, source: std::io::Error) -> Self {
        Self::Io {
            path: path.to_path_buf(),
            source,
        }
    }

    /// Maps an `image` crate error on `path` to the variant that says what kind of failure it was.
    pub(crate) fn from_codec(path: &Path, err: image::ImageError, encoding: bool) -> Self {
        let path = path.to_path_buf();
        let reason = one_line(&err.to_string());
        match err {
            image::ImageError::IoError(source) if !encoding => Self::Io { path, source },
            image::ImageError::Unsupported(_) => Self::Unsupported { path, reason },
            _ if encoding => Self::Encode { path, reason },
            _ => Self::Decode { path, reason },
        }
    }

    /// Maps a `tiff` crate decoding error on `path` the way [`Self::from_codec`] maps `image`'s.
    pub(crate) fn from_tiff(path: &Path, err: tiff::TiffError) -> Self {
        let path = path.to_path_buf();
        let reason = one_line(&err.to_string());
        match err {
            tiff::TiffError::IoError(source) => Self::Io { path, source },
            tiff::TiffError::UnsupportedError(_) => Self::Unsupported { path, reason },
            _ => Self::Decode { path, reason },
        }
    }
}

fn one_line(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

pub type Result<T, E = ImageError> = std::result::Result<T, E>;
