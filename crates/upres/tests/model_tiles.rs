//! Tiled inference of a network equals whole-image inference: the tile overlap grows with the
//! receptive field, so even tiles smaller than the context margin leave no seam.

mod common;

use burn::tensor::Device;
use common::{arg, dataset, upres_ok};
use std::path::Path;
use upres_image::io;

fn save_model(name: &str, scale: usize, path: &Path) {
    let model = upres_models::build(name, scale, &Device::flex()).unwrap();
    model.save_safetensors(path).unwrap();
}

fn check(name: &str, scale: usize, tiles: &[&str]) {
    let tmp = tempfile::tempdir().unwrap();
    let weights = tmp.path().join(format!("{name}.safetensors"));
    save_model(name, scale, &weights);
    // A 60x44 crop of a real photo keeps the debug-build forward passes short.
    let full = io::read(&dataset("Set5").join("HR/butterfly.png")).unwrap();
    let crop = full.image.crop(100, 90, 60, 44).unwrap();
    let input = tmp.path().join("in.png");
    io::write(&input, &crop, &full.metadata, io::WriteOptions::default()).unwrap();
    let s = scale.to_string();
    let run = |tile: &str| {
        let out = tmp.path().join(format!("out_{tile}.png"));
        upres_ok(&[
            "upscale",
            "-i",
            arg(&input),
            "-o",
            arg(&out),
            "-s",
            &s,
            "-m",
            arg(&weights),
            "--tile",
            tile,
        ]);
        io::read(&out).unwrap().image
    };
    let whole = run("100000");
    let values = whole.data();
    let spread = values.iter().fold(f32::MIN, |a, &b| a.max(b))
        - values.iter().fold(f32::MAX, |a, &b| a.min(b));
    assert!(
        spread > 20.0,
        "{name}: the output must not be flat for the comparison to mean anything"
    );
    for &tile in tiles {
        let tiled = run(tile);
        let differing = tiled
            .data()
            .iter()
            .zip(values)
            .filter(|(a, b)| a != b)
            .count();
        assert_eq!(
            differing, 0,
            "{name} tile {tile}: {differing} values differ"
        );
    }
}

#[test]
fn espcn_tiled_equals_whole() {
    // Receptive radius 4: tile 3 is smaller than the margin.
    check("espcn", 3, &["3", "16", "25"]);
}

#[test]
fn luma_espcn_tiled_equals_whole() {
    // The network reaches 4 pixels, the bicubic chroma 2: tile 3 is smaller than both.
    check("espcn-y", 3, &["3", "16"]);
}

#[test]
fn edsr_baseline_tiled_equals_whole() {
    // Receptive radius 37: tiles of 8 and 20 are far smaller than the margin.
    check("edsr-baseline", 2, &["8", "20", "32"]);
}

#[test]
fn unet_tiled_equals_whole() {
    // The encoder works at 1/2 and 1/4 resolution: tiles of 8 and 20 input pixels are cut on
    // the coarsest level's grid, and their windows are padded to multiples of 4.
    check("unet-sr-y", 2, &["8", "20"]);
}
