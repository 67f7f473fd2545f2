//! The perceptual loss on real ImageNet VGG16 weights: the L1 distance of VGG16 features
//! (themselves checked against torchvision in upres-models' tests), after ImageNet
//! normalisation, with a weight per layer. Needs the weights `tools/fetch_perceptual_weights.sh`
//! converts (`.ci/run` does), read from `$UPRES_WEIGHTS_DIR`, else `tools/weights`.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use burn::tensor::{Device, Tensor, TensorData};
use upres_models::perceptual::{Vgg16, VggLayer};
use upres_train::loss::{Loss, Perceptual};

fn weights() -> PathBuf {
    std::env::var_os("UPRES_WEIGHTS_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tools/weights"))
}

/// A deterministic `[2, channels, 24, 24]` batch in [0, 1].
fn batch(channels: usize, seed: usize, device: &Device) -> Tensor<4> {
    let values = (0..2 * channels * 24 * 24)
        .map(|i| ((i * 7919 + seed * 104_729) % 1000) as f32 / 1000.0)
        .collect();
    Tensor::from_data(TensorData::new(values, [2, channels, 24, 24]), device)
}

fn loss(layers: &[(&str, f32)], device: &Device) -> Perceptual {
    let layers: BTreeMap<String, f32> = layers.iter().map(|(l, w)| (l.to_string(), *w)).collect();
    Perceptual::new(&layers, &weights(), device).unwrap()
}

fn value(t: Tensor<1>) -> f32 {
    t.into_data().try_to_vec::<f32>().unwrap()[0]
}

#[test]
fn weighted_l1_of_normalised_vgg_features() {
    let device = Device::flex();
    let (a, b) = (batch(3, 1, &device), batch(3, 2, &device));
    let both =
        value(loss(&[("conv2_2", 0.5), ("conv4_3", 2.0)], &device).forward(a.clone(), b.clone()));

    // Written out here: ImageNet's mean and deviation, the mean absolute difference per layer.
    let vgg = Vgg16::load(&weights(), &device).unwrap();
    let normalise = |x: Tensor<4>| {
        let mean = Tensor::<1>::from_floats([0.485, 0.456, 0.406], &device).reshape([1, 3, 1, 1]);
        let std = Tensor::<1>::from_floats([0.229, 0.224, 0.225], &device).reshape([1, 3, 1, 1]);
        (x - mean) / std
    };
    let layers: Vec<VggLayer> = ["conv2_2", "conv4_3"]
        .iter()
        .map(|l| l.parse().unwrap())
        .collect();
    let fa = vgg.features(normalise(a.clone()), &layers);
    let fb = vgg.features(normalise(b.clone()), &layers);
    let expected: f32 = fa
        .into_iter()
        .zip(fb)
        .zip([0.5f32, 2.0])
        .map(|((x, y), w)| w * value((x - y).abs().mean()))
        .sum();
    assert!(both > 0.0);
    assert!(
        (both - expected).abs() <= 1e-5 * expected,
        "loss {both}, expected {expected}"
    );

    // The terms add up, and an identical pair costs nothing.
    let first = value(loss(&[("conv2_2", 0.5)], &device).forward(a.clone(), b.clone()));
    let second = value(loss(&[("conv4_3", 2.0)], &device).forward(a.clone(), b));
    assert!((first + second - both).abs() <= 1e-5 * both);
    assert_eq!(
        value(loss(&[("conv4_3", 1.0)], &device).forward(a.clone(), a)),
        0.0
    );
}

#[test]
fn luma_batches_are_seen_as_gray_rgb() {
    let device = Device::flex();
    let perceptual = loss(&[("conv3_3", 1.0)], &device);
    let (a, b) = (batch(1, 3, &device), batch(1, 4, &device));
    let luma = value(perceptual.forward(a.clone(), b.clone()));
    let rgb = value(perceptual.forward(a.repeat_dim(1, 3), b.repeat_dim(1, 3)));
    assert!((luma - rgb).abs() <= 1e-6 * rgb, "{luma} vs {rgb}");
}

#[test]
fn gradients_reach_the_output_only() {
    let device = Device::flex().autodiff();
    let perceptual = loss(&[("conv1_2", 1.0)], &device);
    let output = batch(3, 5, &device).require_grad();
    let target = batch(3, 6, &device).require_grad();
    let grads = perceptual
        .forward(output.clone(), target.clone())
        .backward();
    let norm = output
        .grad(&grads)
        .map(|g| value(g.abs().sum().reshape([1])));
    assert!(norm.is_some_and(|n| n > 0.0), "output gradient {norm:?}");
    // The target is detached: no gradient flows into it.
    let target_grad = target
        .grad(&grads)
        .map(|g| value(g.abs().sum().reshape([1])));
    assert!(
        target_grad.is_none_or(|n| n == 0.0),
        "target gradient {target_grad:?}"
    );
}
