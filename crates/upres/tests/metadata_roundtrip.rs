//! What users lose with other upscalers, kept by upres: 16-bit depth, alpha, the ICC profile,
//! and EXIF orientation (applied, then reset so viewers do not rotate twice).

mod common;

use common::{arg, upres_ok};
use image::metadata::Orientation;
use image::{ImageDecoder, ImageReader};
use std::path::Path;
use upres_image::io::{self, Format, Metadata};
use upres_image::{Depth, Image, Layout};

fn pattern(w: usize, h: usize, layout: Layout, depth: Depth) -> Image {
    let c = layout.channels();
    let max = depth.max_value();
    let data = (0..w * h * c)
        .map(|i| {
            let (p, ch) = (i / c, i % c);
            let (x, y) = (p % w, p / w);
            ((x * 37 + y * 101 + ch * 53) as f32 * max / 400.0)
                .min(max)
                .round()
        })
        .collect();
    Image::new(w, h, layout, depth, data).unwrap()
}

fn write(path: &Path, image: &Image, metadata: &Metadata) {
    io::write(path, image, metadata, io::WriteOptions::default()).unwrap();
}

fn icc_profile() -> Vec<u8> {
    moxcms::ColorProfile::new_display_p3().encode().unwrap()
}

/// Bicubic, which reproduces flat areas exactly, so output values can be checked to the unit.
fn upscale(input: &Path, output: &Path) {
    upres_ok(&[
        "upscale",
        "-i",
        arg(input),
        "-o",
        arg(output),
        "-s",
        "2",
        "-m",
        "bicubic",
    ]);
}

#[test]
fn sixteen_bit_rgba_png_stays_sixteen_bit_rgba() {
    let tmp = tempfile::tempdir().unwrap();
    let (input, output) = (tmp.path().join("in.png"), tmp.path().join("out.png"));
    let mut img = pattern(24, 16, Layout::Rgba, Depth::U16);
    // Values only 16 bits can hold, and an alpha ramp with fully transparent pixels.
    for (i, px) in img.data_mut().chunks_exact_mut(4).enumerate() {
        px[0] = 40_001.0 + (i % 7) as f32;
        px[3] = if i % 24 < 8 {
            0.0
        } else {
            65_535.0 - 1000.0 * (i % 24) as f32
        };
    }
    write(&input, &img, &Metadata::default());
    upscale(&input, &output);
    let reader = ImageReader::open(&output).unwrap().into_decoder().unwrap();
    assert_eq!(reader.color_type(), image::ColorType::Rgba16);
    let out = io::read(&output).unwrap().image;
    assert_eq!(
        (out.width(), out.height(), out.layout(), out.depth()),
        (48, 32, Layout::Rgba, Depth::U16)
    );
    // A value no 8-bit pipeline can produce survives: red stays near 40001, not a multiple of 257.
    let red = out.pixel(20, 10)[0];
    assert!(
        (40_000.0..=40_008.0).contains(&red) && red % 257.0 != 0.0,
        "red {red}"
    );
    // The fully transparent left columns stay fully transparent, the opaque ones opaque-ish.
    assert_eq!(out.pixel(2, 5)[3], 0.0);
    assert!(out.pixel(40, 5)[3] > 30_000.0);
}

#[test]
fn icc_profile_survives_png_to_png_and_jpeg_to_jpeg() {
    let tmp = tempfile::tempdir().unwrap();
    let icc = icc_profile();
    let meta = Metadata {
        icc_profile: Some(icc.clone()),
        ..Metadata::default()
    };
    for (ext, format) in [("png", Format::Png), ("jpg", Format::Jpeg)] {
        let (input, output) = (
            tmp.path().join(format!("in.{ext}")),
            tmp.path().join(format!("out.{ext}")),
        );
        write(&input, &pattern(20, 12, Layout::Rgb, Depth::U8), &meta);
        upscale(&input, &output);
        let mut decoder = ImageReader::open(&output).unwrap().into_decoder().unwrap();
        assert_eq!(decoder.icc_profile().unwrap(), Some(icc.clone()), "{ext}");
        assert_eq!(io::read(&output).unwrap().format, format);
    }
}

/// A minimal little-endian EXIF (TIFF) block holding only an Orientation tag.
fn exif_with_orientation(value: u16) -> Vec<u8> {
    let mut b = b"II*\0".to_vec();
    b.extend_from_slice(&8u32.to_le_bytes()); // IFD0 offset
    b.extend_from_slice(&1u16.to_le_bytes()); // one entry
    b.extend_from_slice(&0x0112u16.to_le_bytes()); // Orientation
    b.extend_from_slice(&3u16.to_le_bytes()); // SHORT
    b.extend_from_slice(&1u32.to_le_bytes()); // count
    b.extend_from_slice(&value.to_le_bytes());
    b.extend_from_slice(&[0, 0]); // value padding
    b.extend_from_slice(&0u32.to_le_bytes()); // no next IFD
    b
}

#[test]
fn exif_rotated_jpeg_comes_out_upright() {
    let tmp = tempfile::tempdir().unwrap();
    let (input, output) = (tmp.path().join("in.jpg"), tmp.path().join("out.jpg"));
    // Stored sideways: 32 wide, 16 high, bright block in the stored top-left corner.
    // Orientation 6 means "rotate 90 degrees clockwise to display".
    let mut stored = Image::zeros(32, 16, Layout::Rgb, Depth::U8);
    for y in 0..8 {
        for x in 0..8 {
            let i = (y * 32 + x) * 3;
            stored.data_mut()[i..i + 3].copy_from_slice(&[250.0, 250.0, 250.0]);
        }
    }
    let meta = Metadata {
        exif: Some(exif_with_orientation(6)),
        ..Metadata::default()
    };
    write(&input, &stored, &meta);
    upscale(&input, &output);
    let out = io::read(&output).unwrap();
    // Displayed upright the image is 16 wide and 32 high, doubled: 32x64, and the stored
    // top-left corner is now the top-right.
    assert_eq!((out.image.width(), out.image.height()), (32, 64));
    assert!(
        out.image.pixel(28, 4)[0] > 200.0,
        "bright block moved to the top-right"
    );
    assert!(out.image.pixel(4, 4)[0] < 50.0);
    // The EXIF is carried, but says "upright" so no viewer rotates it again.
    let mut decoder = ImageReader::open(&output).unwrap().into_decoder().unwrap();
    assert!(decoder.exif_metadata().unwrap().is_some());
    assert_eq!(decoder.orientation().unwrap(), Orientation::NoTransforms);
}
