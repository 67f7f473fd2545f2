//! LPIPS and VGG16 against PyTorch (`tools/lpips_reference.py`): the official `lpips` package
//! and torchvision's VGG16, carrying the same converted ImageNet weights, on Set14 crops and
//! integer-exact distortions of them that this test rebuilds pixel for pixel.
//!
//! The weights come from `tools/fetch_perceptual_weights.sh` (run by `.ci/run`); the test
//! reads them from `$UPRES_WEIGHTS_DIR`, else `tools/weights`.

use std::path::{Path, PathBuf};

use burn::tensor::{Device, Tensor, TensorData};
use serde_json::Value;
use upres_models::perceptual::{
    Lpips, LpipsNet, PerceptualError, Vgg16, VggLayer, WEIGHTS_ENV, imagenet_normalize,
};

const TOLERANCE: f64 = 1e-4;

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn weights() -> PathBuf {
    std::env::var_os(WEIGHTS_ENV)
        .map(PathBuf::from)
        .unwrap_or_else(|| repo().join("tools/weights"))
}

fn reference() -> Value {
    let path =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/perceptual_reference.json");
    serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap()
}

/// A `side`x`side` center crop of a Set14 HR image as `[y][x][c]` values in 0..=255.
fn center_crop(name: &str, side: usize) -> Vec<Vec<[i64; 3]>> {
    let path = repo().join(format!("../shared/datasets/Set14/HR/{name}.png"));
    let rgb = image::open(&path)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
        .to_rgb8();
    let (w, h) = (rgb.width() as usize, rgb.height() as usize);
    let (y0, x0) = ((h - side) / 2, (w - side) / 2);
    (0..side)
        .map(|y| {
            (0..side)
                .map(|x| {
                    let p = rgb.get_pixel((x0 + x) as u32, (y0 + y) as u32).0;
                    p.map(i64::from)
                })
                .collect()
        })
        .collect()
}

/// The reference script's `distort`, in the same integer arithmetic.
fn distort(image: &[Vec<[i64; 3]>], kind: &str, seed: i64) -> Vec<Vec<[i64; 3]>> {
    let (h, w) = (image.len(), image[0].len());
    let at = |y: usize, x: usize| image[y.min(h - 1)][x.min(w - 1)];
    let build = |f: &dyn Fn(usize, usize, usize) -> i64| -> Vec<Vec<[i64; 3]>> {
        (0..h)
            .map(|y| (0..w).map(|x| [0, 1, 2].map(|c| f(y, x, c))).collect())
            .collect()
    };
    match kind {
        "posterize" => build(&|y, x, c| (image[y][x][c] & 0xE0) | 0x10),
        "box_blur" => build(&|y, x, c| {
            let mut total = 0;
            for dy in 0..3 {
                for dx in 0..3 {
                    // Edge padding by one pixel.
                    total += at((y + dy).saturating_sub(1), (x + dx).saturating_sub(1))[c];
                }
            }
            (total + 4) / 9
        }),
        "noise" => {
            let mut state = seed;
            let mut out = image.to_vec();
            for row in &mut out {
                for pixel in row {
                    for v in pixel {
                        state = (state * 1103515245 + 12345) % (1 << 31);
                        *v = (*v + (state >> 16) % 41 - 20).clamp(0, 255);
                    }
                }
            }
            out
        }
        "pixelate" => build(&|y, x, c| {
            let (by, bx) = (y / 4 * 4, x / 4 * 4);
            let mut total = 0;
            for dy in 0..4 {
                for dx in 0..4 {
                    total += image[by + dy][bx + dx][c];
                }
            }
            (total + 8) / 16
        }),
        "shift" => build(&|y, x, c| at(y + 2, x + 3)[c]),
        other => panic!("unknown distortion {other}"),
    }
}

/// A 1x3xHxW batch in [0, 1].
fn tensor(image: &[Vec<[i64; 3]>], device: &Device) -> Tensor<4> {
    let (h, w) = (image.len(), image[0].len());
    let mut planar = vec![0f32; 3 * h * w];
    for (y, row) in image.iter().enumerate() {
        for (x, pixel) in row.iter().enumerate() {
            for c in 0..3 {
                planar[(c * h + y) * w + x] = pixel[c] as f32 / 255.0;
            }
        }
    }
    Tensor::from_data(TensorData::new(planar, [1, 3, h, w]), device)
}

fn values(t: Tensor<1>) -> Vec<f32> {
    t.into_data().try_into_vec::<f32>().unwrap()
}

#[test]
fn lpips_matches_the_official_package_on_twenty_set14_pairs() {
    let device = Device::flex();
    let reference = reference();
    let crop = reference["crop"].as_u64().unwrap() as usize;
    let pairs = reference["pairs"].as_array().unwrap();
    assert!(pairs.len() >= 20);
    for net in [LpipsNet::Alex, LpipsNet::Vgg] {
        let lpips = Lpips::load(net, &weights(), &device).unwrap();
        let mut worst = 0f64;
        for pair in pairs {
            let name = pair["image"].as_str().unwrap();
            let clean = center_crop(name, crop);
            let distorted = distort(
                &clean,
                pair["distortion"].as_str().unwrap(),
                pair["seed"].as_i64().unwrap(),
            );
            let got = values(
                lpips
                    .forward(tensor(&distorted, &device), tensor(&clean, &device))
                    .unwrap(),
            )[0] as f64;
            let want = pair[net.to_string().as_str()].as_f64().unwrap();
            assert!(
                want > 0.01,
                "a distortion that LPIPS cannot see tests nothing"
            );
            let diff = (got - want).abs();
            worst = worst.max(diff);
            assert!(
                diff <= TOLERANCE,
                "LPIPS-{net} {name} {}: upres {got:.6}, PyTorch {want:.6}",
                pair["distortion"]
            );
        }
        println!(
            "LPIPS-{net}: {} pairs, max |upres - PyTorch| {worst:.2e}",
            pairs.len()
        );
    }
}

#[test]
fn lpips_is_zero_for_identical_images_and_batches_pairs_independently() {
    let device = Device::flex();
    let lpips = Lpips::load(LpipsNet::Alex, &weights(), &device).unwrap();
    let clean = center_crop("lenna", 64);
    let blurred = distort(&clean, "box_blur", 0);
    let (a, b) = (tensor(&clean, &device), tensor(&blurred, &device));
    let batch = values(
        lpips
            .forward(
                Tensor::cat(vec![a.clone(), a.clone()], 0),
                Tensor::cat(vec![a.clone(), b.clone()], 0),
            )
            .unwrap(),
    );
    assert!(batch[0].abs() < 1e-7, "identical images: {}", batch[0]);
    let single = values(lpips.forward(a.clone(), b).unwrap())[0];
    assert!((batch[1] - single).abs() < 1e-6 && single > 0.01);
    let small = Tensor::<4>::zeros([1, 3, 16, 16], &device);
    assert!(matches!(
        lpips.forward(small.clone(), small),
        Err(PerceptualError::Input(_))
    ));
}

#[test]
fn vgg16_features_match_torchvision() {
    let device = Device::flex();
    let reference = reference();
    let features = &reference["vgg_features"];
    let crop = features["crop"].as_u64().unwrap() as usize;
    // The reference crops the 128x128 center crop to its top-left corner.
    let big = center_crop(
        features["image"].as_str().unwrap(),
        reference["crop"].as_u64().unwrap() as usize,
    );
    let small: Vec<Vec<[i64; 3]>> = big[..crop].iter().map(|row| row[..crop].to_vec()).collect();
    let vgg = Vgg16::load(&weights(), &device).unwrap();
    let layers: Vec<(String, VggLayer)> = features["layers"]
        .as_object()
        .unwrap()
        .keys()
        .map(|name| (name.clone(), name.parse().unwrap()))
        .collect();
    let wanted: Vec<VggLayer> = layers.iter().map(|(_, l)| *l).collect();
    let outputs = vgg.features(imagenet_normalize(tensor(&small, &device)), &wanted);
    for ((name, _), output) in layers.iter().zip(outputs) {
        let expected = &features["layers"][name];
        let shape: Vec<usize> = expected["shape"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_u64().unwrap() as usize)
            .collect();
        assert_eq!(output.dims().to_vec(), shape, "{name}");
        let flat = output.into_data().try_into_vec::<f32>().unwrap();
        let step = expected["step"].as_u64().unwrap() as usize;
        let mut worst = 0f64;
        for (i, want) in expected["samples"].as_array().unwrap().iter().enumerate() {
            let (got, want) = (flat[i * step] as f64, want.as_f64().unwrap());
            worst = worst.max((got - want).abs());
        }
        let mean = flat.iter().map(|&v| v as f64).sum::<f64>() / flat.len() as f64;
        let max_abs = flat.iter().fold(0f32, |m, v| m.max(v.abs())) as f64;
        println!("VGG16 {name}: max |diff| {worst:.2e} over samples, max |value| {max_abs:.2}");
        assert!(worst <= TOLERANCE, "{name}: max abs diff {worst}");
        assert!(
            (mean - expected["mean"].as_f64().unwrap()).abs() <= TOLERANCE,
            "{name} mean"
        );
        assert!(
            (max_abs - expected["max_abs"].as_f64().unwrap()).abs() <= TOLERANCE * max_abs.max(1.0),
            "{name} max"
        );
    }
}

#[test]
fn missing_weights_say_how_to_get_them() {
    let error = Lpips::load(LpipsNet::Vgg, Path::new("/nonexistent"), &Device::flex()).unwrap_err();
    let message = error.to_string();
    assert!(message.contains("vgg16.safetensors") && message.contains("fetch_perceptual_weights"));
}
