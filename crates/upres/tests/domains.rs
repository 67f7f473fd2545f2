//! What remote-sensing and medical users need from `upres upscale`: a GeoTIFF stays on the
//! map and keeps its bands (checked with GDAL's own tools), and 16-bit gray keeps its full
//! range.
//!
//! The GeoTIFF test needs Debian's `gdal-bin` (`.ci/run` installs it). Without it the test
//! says so and passes, unless `UPRES_REQUIRE_TOOLS` is set, as CI sets it.

mod common;

use common::{arg, dataset, upres_ok};
use std::path::Path;
use std::process::Command;
use upres_image::io::{self, Bands, Metadata, WriteOptions};
use upres_image::{Depth, Image, Layout};

/// Runs a GDAL tool; `None` when GDAL is not installed (and not required).
fn gdal(tool: &str, args: &[&str]) -> Option<String> {
    let out = match Command::new(tool).args(args).output() {
        Ok(out) => out,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            assert!(
                std::env::var_os("UPRES_REQUIRE_TOOLS").is_none(),
                "UPRES_REQUIRE_TOOLS is set but {tool} is missing"
            );
            eprintln!("skipped: install Debian's gdal-bin to run this test");
            return None;
        }
        Err(e) => panic!("{tool}: {e}"),
    };
    assert!(
        out.status.success(),
        "{tool} {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    Some(String::from_utf8(out.stdout).unwrap())
}

/// `gdal_translate` band choices: RGB, then red again as a fourth band (a stand-in for
/// near-infrared).
const RGB_AND_RED_AGAIN: [&str; 8] = ["-b", "1", "-b", "2", "-b", "3", "-b", "1"];

/// `gdal_translate` options for 16-bit bands without a colour model (GDAL then writes them
/// as gray with extra samples; bytes it would write as RGBA).
const STACK_16_BIT: [&str; 4] = [
    "-ot",
    "UInt16",
    "-colorinterp",
    "gray,undefined,undefined,undefined",
];

fn gdalinfo(path: &Path) -> serde_json::Value {
    let json = gdal("gdalinfo", &["-json", arg(path)]).unwrap();
    serde_json::from_str(&json).unwrap()
}

#[test]
fn a_geotiff_keeps_its_place_on_the_map() {
    let dir = tempfile::tempdir().unwrap();
    let png = dataset("Set5").join("LR_bicubic/X4/birdx4.png"); // 72x72
    // A 720 m square of UTM zone 33N at 10 m per pixel, written by GDAL: as area pixels, as
    // point pixels (centres), and as one 16-bit band, as elevation models come.
    let extent = ["-a_ullr", "500000", "4600720", "500720", "4600000"];
    // And gray with a data band beside it (a copy of itself), and RGB with a fourth band
    // marked as neither colour nor alpha (near-infrared; here a copy of red), 8- and 16-bit.
    let rgb_nir = [&RGB_AND_RED_AGAIN[..], &["-co", "PHOTOMETRIC=RGB"]].concat();
    let rgb_nir16 = [
        &["-ot", "UInt16", "-scale", "0", "255", "1000", "60000"][..],
        &rgb_nir,
    ]
    .concat();
    // And a 16-bit stack of four bands without a colour model, as GDAL writes one.
    let stack16 = [
        &["-scale", "0", "255", "1000", "60000"][..],
        &RGB_AND_RED_AGAIN,
        &STACK_16_BIT,
    ]
    .concat();
    let variants: [(&str, &[&str]); 7] = [
        ("area", &[]),
        ("gray_and_data", &["-b", "1", "-b", "1"]),
        ("rgb_and_nir", &rgb_nir),
        ("rgb_and_nir16", &rgb_nir16),
        ("stack16", &stack16),
        ("point", &["-mo", "AREA_OR_POINT=Point"]),
        (
            "dem16",
            &[
                "-ot", "UInt16", "-b", "1", "-scale", "0", "255", "1000", "60000",
            ],
        ),
    ];
    for (name, extra) in variants {
        let input = dir.path().join(format!("{name}.tif"));
        let mut args = vec![
            "-q",
            "-of",
            "GTiff",
            "-a_srs",
            "EPSG:32633",
            "-a_nodata",
            "0",
        ];
        args.extend(extent);
        args.extend(extra);
        args.extend([arg(&png), arg(&input)]);
        let Some(_) = gdal("gdal_translate", &args) else {
            return;
        };
        let before = gdalinfo(&input);
        assert_eq!(
            before["geoTransform"],
            serde_json::json!([500000.0, 10.0, 0.0, 4600720.0, 0.0, -10.0])
        );

        let output = dir.path().join(format!("{name}_x2.tif"));
        upres_ok(&["upscale", "-i", arg(&input), "-o", arg(&output), "-s", "2"]);
        let after = gdalinfo(&output);
        assert_eq!(after["size"], serde_json::json!([144, 144]), "{name}");
        assert_eq!(
            after["geoTransform"],
            serde_json::json!([500000.0, 5.0, 0.0, 4600720.0, 0.0, -5.0]),
            "{name}: same corner, half the pixel size"
        );
        let wkt = after["coordinateSystem"]["wkt"].as_str().unwrap();
        assert!(wkt.contains("UTM zone 33N"), "{name}: {wkt}");
        assert_eq!(
            after["metadata"][""]["AREA_OR_POINT"], before["metadata"][""]["AREA_OR_POINT"],
            "{name}"
        );
        let bands = after["bands"].as_array().unwrap();
        assert_eq!(bands.len(), before["bands"].as_array().unwrap().len());
        if name == "stack16" {
            // Band-wise: bands 1 and 4 were the same, so they still are, to the bit.
            assert_eq!(io::read(&input).unwrap().metadata.bands, Bands::Stack);
            let out = io::read(&output).unwrap();
            assert_eq!(out.metadata.bands, Bands::Stack);
            let band = |c: usize| -> Vec<f32> {
                out.image
                    .data()
                    .iter()
                    .skip(c)
                    .step_by(4)
                    .copied()
                    .collect()
            };
            assert_eq!(band(0), band(3));
            assert_ne!(band(0), band(1));
            assert_eq!(bands[0]["colorInterpretation"], "Gray");
        }
        if name.starts_with("rgb_and_nir") {
            let read = io::read(&input).unwrap();
            assert_eq!(read.metadata.bands, Bands::ColorAndData, "{name}");
            // The data band went through the network band-wise, red with the image: both
            // copies of one band keep its mean.
            let out = io::read(&output).unwrap().image;
            assert_eq!(out.layout(), Layout::Rgba, "{name}");
            let mean = |c: usize| {
                let values: Vec<f64> = out
                    .data()
                    .iter()
                    .skip(c)
                    .step_by(4)
                    .map(|&v| f64::from(v))
                    .collect();
                values.iter().sum::<f64>() / values.len() as f64
            };
            let (red, nir) = (mean(0), mean(3));
            assert!(
                (red - nir).abs() < 0.01 * red,
                "{name}: red {red}, nir {nir}"
            );
        }
        for band in bands {
            assert_eq!(band["noDataValue"], 0.0, "{name}");
            assert_eq!(band["type"], before["bands"][0]["type"], "{name}");
            assert_ne!(
                band["colorInterpretation"], "Alpha",
                "{name}: data stays data"
            );
        }
    }
}

/// 64x48 16-bit gray: a ramp over the whole range with texture, a flat block at 40000 and a
/// saturated block at 65535.
fn sixteen_bit_scan() -> Image {
    let (w, h) = (64, 48);
    let mut data = Vec::with_capacity(w * h);
    for y in 0..h {
        for x in 0..w {
            let v = if (8..24).contains(&x) && (8..24).contains(&y) {
                40_000.0
            } else if (40..56).contains(&x) && (24..40).contains(&y) {
                65_535.0
            } else {
                let ramp = 300.0 + 64_000.0 * x as f32 / w as f32;
                let texture = 700.0 * ((x * 7 + y * 13) % 11) as f32;
                (ramp + texture).min(65_535.0)
            };
            data.push(v);
        }
    }
    Image::new(w, h, Layout::Gray, Depth::U16, data).unwrap()
}

#[test]
fn sixteen_bit_gray_keeps_its_full_range() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("scan16.png");
    io::write(
        &input,
        &sixteen_bit_scan(),
        &Metadata::default(),
        WriteOptions::default(),
    )
    .unwrap();
    for model in ["bicubic", "fsrcnn-x2"] {
        let output = dir.path().join(format!("{model}.png"));
        upres_ok(&[
            "upscale",
            "-i",
            arg(&input),
            "-o",
            arg(&output),
            "-s",
            "2",
            "-m",
            model,
        ]);
        let out = io::read(&output).unwrap().image;
        assert_eq!(
            (out.layout(), out.depth()),
            (Layout::Gray, Depth::U16),
            "{model}"
        );
        assert_eq!((out.width(), out.height()), (128, 96));
        let at = |x: usize, y: usize| out.pixel(x, y)[0];
        // An 8-bit step anywhere in the path would leave only multiples of 257.
        let off_8_bit = out.data().iter().filter(|&&v| v % 257.0 != 0.0).count();
        assert!(off_8_bit > out.data().len() / 2, "{model}: {off_8_bit}");
        let max = out.data().iter().copied().fold(0.0f32, f32::max);
        assert_eq!(max, 65_535.0, "{model}: saturated input stays at the top");
        // The interiors of the flat blocks (away from their edges by the model's reach).
        for y in 24..40 {
            for x in 24..40 {
                let flat = at(x, y);
                if model == "bicubic" {
                    assert_eq!(flat, 40_000.0, "{model} at ({x}, {y})");
                } else {
                    assert!(
                        (flat - 40_000.0).abs() < 400.0,
                        "{model} at ({x}, {y}): {flat}"
                    );
                }
            }
        }
        for y in 56..72 {
            for x in 88..104 {
                let top = at(x, y);
                if model == "bicubic" {
                    assert_eq!(top, 65_535.0, "{model} at ({x}, {y})");
                } else {
                    assert!(top > 65_000.0, "{model} at ({x}, {y}): {top}");
                }
            }
        }
        // Values above 255 are not clipped as an 8-bit pipeline would.
        assert!(at(120, 10) > 50_000.0, "{model}");
    }
}

#[test]
fn bands_upres_cannot_keep_are_refused_not_dropped() {
    let dir = tempfile::tempdir().unwrap();
    let png = dataset("Set5").join("LR_bicubic/X4/birdx4.png");
    // RGB plus a near-infrared-like band in tiles: tiled TIFFs are decoded whole by `image`,
    // which would drop the band (strip TIFFs keep it, above).
    let input = dir.path().join("rgbn.tif");
    let args = [
        &["-q", "-co", "TILED=YES"][..],
        &RGB_AND_RED_AGAIN,
        &[arg(&png), arg(&input)],
    ]
    .concat();
    let Some(_) = gdal("gdal_translate", &args) else {
        return;
    };
    assert_refused(&input, "not alpha");
    // And a stack of five bands, more than upres holds.
    let stack = dir.path().join("stack5.tif");
    let five = [
        "-b",
        "2",
        "-colorinterp",
        "gray,undefined,undefined,undefined,undefined",
    ];
    let stack_args = [
        &RGB_AND_RED_AGAIN[..],
        &five,
        &STACK_16_BIT[..2],
        &[arg(&png), arg(&stack)],
    ]
    .concat();
    gdal("gdal_translate", &stack_args).unwrap();
    assert_refused(&stack, "5 bands without a colour model");
}

/// `upres upscale` refuses `input` in one line that says `why`, and writes nothing.
fn assert_refused(input: &Path, why: &str) {
    let output = input.with_extension("x2.tif");
    let out = common::upres(&["upscale", "-i", arg(input), "-o", arg(&output), "-s", "2"]);
    assert!(!out.status.success());
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(stderr.contains(why), "{stderr}");
    assert!(!output.exists());
}
