//! Bad input gets one clear line and a non-zero exit, and never leaves an output file behind;
//! odd-but-valid input (palette with transparency, gray) decodes right.

mod common;

use common::{arg, upres, upres_ok};
use std::path::Path;
use upres_image::io::{self, Metadata};
use upres_image::{Depth, Image, Layout};

/// Writes `image` with no metadata and default options.
fn save(path: &Path, image: &Image) {
    io::write(
        path,
        image,
        &Metadata::default(),
        io::WriteOptions::default(),
    )
    .unwrap();
}

fn assert_fails_cleanly(input: &Path, output: &Path, mention: &str) {
    let out = upres(&["upscale", "-i", arg(input), "-o", arg(output), "-s", "2"]);
    assert!(!out.status.success());
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert_eq!(stderr.lines().count(), 1, "one line: {stderr}");
    assert!(stderr.starts_with("upres: error: "), "{stderr}");
    assert_eq!(
        stderr.matches(mention).count(),
        1,
        "{stderr} should mention {mention} once"
    );
    assert!(!output.exists(), "no output for a failed input");
    let leftovers: Vec<_> = std::fs::read_dir(output.parent().unwrap())
        .unwrap()
        .filter_map(|e| e.ok())
        .filter(|e| e.file_name().to_string_lossy().ends_with(".tmp"))
        .collect();
    assert!(leftovers.is_empty(), "temporary files left: {leftovers:?}");
}

fn encoded(format: &str) -> Vec<u8> {
    let w = 40;
    let data = (0..w * w * 3).map(|i| ((i * 31) % 256) as f32).collect();
    let img = Image::new(w, w, Layout::Rgb, Depth::U8, data).unwrap();
    io::encode(&img, &Metadata::default(), format.parse().unwrap(), 90).unwrap()
}

#[test]
fn corrupt_file_is_a_one_line_error() {
    let tmp = tempfile::tempdir().unwrap();
    let input = tmp.path().join("corrupt.png");
    std::fs::write(&input, b"\x89PNG\r\n\x1a\nthis is not a png at all").unwrap();
    assert_fails_cleanly(&input, &tmp.path().join("out.png"), "corrupt.png");
}

#[test]
fn truncated_png_and_jpeg_are_errors() {
    let tmp = tempfile::tempdir().unwrap();
    for format in ["png", "jpg"] {
        let bytes = encoded(format);
        let input = tmp.path().join(format!("cut.{format}"));
        std::fs::write(&input, &bytes[..bytes.len() * 2 / 3]).unwrap();
        assert_fails_cleanly(
            &input,
            &tmp.path().join(format!("out.{format}")),
            &format!("cut.{format}"),
        );
    }
}

#[test]
fn unsupported_and_missing_files_are_errors() {
    let tmp = tempfile::tempdir().unwrap();
    let gif = tmp.path().join("anim.gif");
    std::fs::write(&gif, b"GIF89a\x01\x00\x01\x00\x00\x00\x00;").unwrap();
    assert_fails_cleanly(&gif, &tmp.path().join("out.png"), "anim.gif");
    assert_fails_cleanly(
        &tmp.path().join("missing.png"),
        &tmp.path().join("out.png"),
        "missing.png",
    );
}

#[test]
fn alpha_into_jpeg_is_refused_not_dropped() {
    let tmp = tempfile::tempdir().unwrap();
    let input = tmp.path().join("logo.png");
    let img = Image::new(4, 4, Layout::Rgba, Depth::U8, vec![128.0; 64]).unwrap();
    save(&input, &img);
    assert_fails_cleanly(
        &input,
        &tmp.path().join("logo.jpg"),
        "cannot store a Rgba image",
    );
}

#[test]
fn existing_output_is_kept_without_overwrite() {
    let tmp = tempfile::tempdir().unwrap();
    let input = tmp.path().join("in.png");
    let output = tmp.path().join("out.png");
    std::fs::write(&input, encoded("png")).unwrap();
    std::fs::write(&output, b"precious").unwrap();
    let out = upres(&["upscale", "-i", arg(&input), "-o", arg(&output)]);
    assert!(!out.status.success());
    assert_eq!(std::fs::read(&output).unwrap(), b"precious");
    upres_ok(&[
        "upscale",
        "-i",
        arg(&input),
        "-o",
        arg(&output),
        "--overwrite",
    ]);
    assert_eq!(io::read(&output).unwrap().image.width(), 160);
}

#[test]
fn palette_png_with_transparency_keeps_its_alpha() {
    let tmp = tempfile::tempdir().unwrap();
    let input = tmp.path().join("palette.png");
    let (w, h) = (8u32, 6u32);
    {
        let file = std::fs::File::create(&input).unwrap();
        let mut enc = png::Encoder::new(std::io::BufWriter::new(file), w, h);
        enc.set_color(png::ColorType::Indexed);
        enc.set_depth(png::BitDepth::Eight);
        enc.set_palette(vec![255, 0, 0, 0, 0, 255]); // red, blue
        enc.set_trns(vec![0, 255]); // red fully transparent, blue opaque
        let mut writer = enc.write_header().unwrap();
        let indices: Vec<u8> = (0..w * h).map(|i| u8::from(i % w >= 4)).collect();
        writer.write_image_data(&indices).unwrap();
    }
    let decoded = io::read(&input).unwrap().image;
    assert_eq!(decoded.layout(), Layout::Rgba);
    assert_eq!(decoded.pixel(0, 0), &[255.0, 0.0, 0.0, 0.0]);
    assert_eq!(decoded.pixel(7, 5), &[0.0, 0.0, 255.0, 255.0]);
    let output = tmp.path().join("out.png");
    upres_ok(&["upscale", "-i", arg(&input), "-o", arg(&output), "-s", "2"]);
    let out = io::read(&output).unwrap().image;
    assert_eq!(
        (out.width(), out.height(), out.layout()),
        (16, 12, Layout::Rgba)
    );
    assert_eq!(out.pixel(0, 0)[3], 0.0);
    assert_eq!(out.pixel(15, 11)[3], 255.0);
}

#[test]
fn gray_jpeg_stays_gray() {
    let tmp = tempfile::tempdir().unwrap();
    let input = tmp.path().join("gray.jpg");
    let output = tmp.path().join("gray_x2.jpg");
    let data = (0..30 * 20).map(|i| (i % 200) as f32).collect();
    let img = Image::new(30, 20, Layout::Gray, Depth::U8, data).unwrap();
    save(&input, &img);
    upres_ok(&["upscale", "-i", arg(&input), "-o", arg(&output), "-s", "2"]);
    let out = io::read(&output).unwrap().image;
    assert_eq!(
        (out.width(), out.height(), out.layout()),
        (60, 40, Layout::Gray)
    );
}

#[test]
fn importing_a_checkpoint_of_another_size_names_the_key() {
    // The fixture is a reduced ESPCN (16 and 8 filters); the registry's has 64 and 32.
    let checkpoint =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../upres-models/tests/fixtures/espcn_x3.pth");
    let tmp = tempfile::tempdir().unwrap();
    let output = tmp.path().join("espcn.upres");
    let out = upres(&[
        "models",
        "import",
        arg(&checkpoint),
        "-m",
        "espcn",
        "-s",
        "3",
        "-o",
        arg(&output),
    ]);
    assert!(!out.status.success());
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert_eq!(stderr.lines().count(), 1, "one line: {stderr}");
    assert!(stderr.contains("first_part.0.weight"), "{stderr}");
    assert!(!output.exists());
}

#[test]
fn quantizing_without_images_or_with_a_bad_percentile_writes_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    let empty = tmp.path().join("empty");
    std::fs::create_dir(&empty).unwrap();
    let calib = tmp.path().join("calib");
    std::fs::create_dir(&calib).unwrap();
    save(
        &calib.join("a.png"),
        &Image::new(8, 8, Layout::Rgb, Depth::U8, vec![90.0; 192]).unwrap(),
    );
    let output = tmp.path().join("int8.upres");
    for (dir, extra, mention) in [
        (&empty, None, "no images"),
        (&calib, Some("42"), "percentile 42"),
    ] {
        let mut args = vec![
            "quantize",
            "-m",
            "espcn-x3",
            "--calib",
            arg(dir),
            "-o",
            arg(&output),
        ];
        if let Some(p) = extra {
            args.extend(["--percentile", p]);
        }
        let out = upres(&args);
        assert!(!out.status.success());
        let stderr = String::from_utf8(out.stderr).unwrap();
        assert_eq!(stderr.lines().count(), 1, "one line: {stderr}");
        assert!(stderr.contains(mention), "{stderr}");
        assert!(!output.exists());
    }
}
