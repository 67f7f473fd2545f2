//! JPEG compression artifacts, made by a real encode and decode.

use crate::buffer::Image;
use crate::error::{ImageError, Result};
use crate::io::{self, Format, Metadata, ReadOptions};
use std::path::Path;

/// What JPEG errors name in place of a file.
const NAME: &str = "JPEG degradation";

/// Encodes the color channels as an 8-bit JPEG of `quality` (1..=100) and decodes them again;
/// alpha passes through untouched and the result is returned at the input's depth.
pub fn jpeg(image: &Image, quality: u8) -> Result<Image> {
    if !(1..=100).contains(&quality) {
        return Err(ImageError::InvalidArgument(format!(
            "JPEG quality must be in 1..=100, got {quality}"
        )));
    }
    let (color, alpha) = image.split_alpha();
    let bytes =
        io::encode(&color, &Metadata::default(), Format::Jpeg, quality).map_err(|reason| {
            ImageError::Encode {
                path: NAME.into(),
                reason,
            }
        })?;
    let decoded = io::decode(&bytes, Path::new(NAME), ReadOptions::default())?
        .image
        .to_depth(image.depth());
    match alpha {
        Some(alpha) => decoded.with_alpha(&alpha),
        None => Ok(decoded),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::buffer::{Depth, Layout};

    fn pattern(layout: Layout, depth: Depth) -> Image {
        let (w, h, c) = (40, 24, layout.channels());
        let unit = depth.max_value() / 255.0;
        let data = (0..w * h * c)
            .map(|i| ((i * 37 + (i / (w * c)) * 11) % 256) as f32 * unit)
            .collect();
        Image::new(w, h, layout, depth, data).unwrap()
    }

    #[test]
    fn jpeg_keeps_shape_depth_and_alpha() {
        for (layout, depth) in [
            (Layout::Rgb, Depth::U8),
            (Layout::Gray, Depth::U8),
            (Layout::Rgba, Depth::U16),
        ] {
            let img = pattern(layout, depth);
            let out = jpeg(&img, 20).unwrap();
            assert_eq!(
                (out.width(), out.height(), out.layout(), out.depth()),
                (img.width(), img.height(), layout, depth)
            );
            assert_ne!(out, img, "quality 20 loses detail");
            if layout == Layout::Rgba {
                let alpha = |i: &Image| i.split_alpha().1.unwrap();
                assert_eq!(alpha(&out), alpha(&img));
            }
        }
    }

    #[test]
    fn bad_quality_is_an_error() {
        let img = pattern(Layout::Rgb, Depth::U8);
        assert!(jpeg(&img, 0).is_err());
        assert!(jpeg(&img, 101).is_err());
    }
}
