//! The fast CPU engine runs every architecture's own definition with the same weights, so it
//! must give burn's output within 1e-4 (max abs, fp32), at odd sizes and at the tile size
//! `upscale` uses.

use std::path::PathBuf;

use burn::tensor::{Device, Tensor, TensorData};
use upres_infer::fast::FastOps;
use upres_kernels::{BORDER, FeatureMap};
use upres_models::SrModel;
use upres_models::Variant;
use upres_models::arch::{SrNetwork, SrResNetConfig};
use upres_models::registry::{build, build_variant, specs};
use upres_models::weights::load_pytorch;

/// Deterministic values in [0, 1).
fn image(len: usize, seed: u64) -> Vec<f32> {
    let mut state = seed.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1);
    (0..len)
        .map(|_| {
            state = state
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407);
            (state >> 40) as f32 / (1u64 << 24) as f32
        })
        .collect()
}

/// Max abs difference between the engines on an `n x c x h x w` input, and the largest
/// output magnitude.
fn compare(model: &SrModel, dims: [usize; 4]) -> (f32, f32) {
    let values = image(dims.iter().product(), 7);
    let x = Tensor::<4>::from_data(TensorData::new(values.clone(), dims), &Device::flex());
    let reference = model.forward(x).unwrap();
    let out_dims = reference.dims();
    let reference = reference.into_data().try_into_vec::<f32>().unwrap();
    let [n, c, h, w] = dims;
    let fast = FastOps::new();
    let y = model
        .run(
            &fast,
            dims,
            FeatureMap::from_nchw(n, c, h, w, &values, BORDER),
        )
        .unwrap();
    assert_eq!(y.dims(), out_dims, "{}", model.spec().name);
    let got = y.to_nchw();
    let diff = got
        .iter()
        .zip(&reference)
        .map(|(a, b)| (a - b).abs())
        .fold(0.0f32, f32::max);
    let scale = reference.iter().fold(0.0f32, |m, v| m.max(v.abs()));
    (diff, scale)
}

fn check(model: &SrModel, dims: [usize; 4]) {
    let (diff, scale) = compare(model, dims);
    println!(
        "{} x{} {dims:?}: max abs diff {diff:.2e} (outputs up to {scale:.2})",
        model.spec().name,
        model.scale()
    );
    assert!(
        diff <= 1e-4,
        "{} x{}: max abs diff {diff}",
        model.spec().name,
        model.scale()
    );
}

#[test]
fn every_architecture_and_scale_matches_burn_at_odd_sizes() {
    let device = Device::flex();
    for spec in specs() {
        for (i, &scale) in spec.scales.iter().enumerate() {
            let model = build(spec.name, scale, &device).unwrap();
            let m = model.input_multiple();
            // The first scale at 97x61; the others (same layers but the upsampler) smaller.
            let (h, w) = if i == 0 { (61, 97) } else { (21, 33) };
            let (h, w) = (model.input_side(h * m), model.input_side(w * m));
            check(&model, [1, spec.color.channels(), h, w]);
        }
    }
}

#[test]
fn a_bicubic_resize_after_the_network_matches_burn() {
    // Real-ESRGAN's x2 and x3 video models: the x4 network, resized.
    let device = Device::flex();
    for scale in [2, 3] {
        let variant = Variant {
            blocks: Some(2),
            features: Some(8),
            network_scale: Some(4),
            ..Variant::default()
        };
        let model = build_variant("srvgg-compact", scale, variant, &device).unwrap();
        check(&model, [1, 3, 23, 31]);
    }
}

#[test]
fn centred_fsrcnn_matches_burn() {
    // Its transposed convolution pads 3 at x3 and x4 (no output padding at x3), 1 at x8.
    let device = Device::flex();
    for scale in [3, 4, 8] {
        let variant = Variant {
            centred_deconv: true,
            ..Variant::default()
        };
        let model = build_variant("fsrcnn-y", scale, variant, &device).unwrap();
        check(&model, [1, 1, 23, 31]);
    }
}

#[test]
fn batches_and_the_default_tile_match_burn() {
    let device = Device::flex();
    // upscale's tiles: 256 pixels plus a margin of the receptive radius on each side.
    for name in ["espcn", "edsr-baseline"] {
        let model = build(name, 4, &device).unwrap();
        check(&model, [1, 3, 276, 276]);
        check(&model, [2, 3, 19, 23]);
    }
}

#[test]
fn batch_norm_uses_running_statistics() {
    // The PyTorch fixture's batch norms have non-trivial weights and running statistics.
    let fixture = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../upres-models/tests/fixtures/srresnet_x4.pth");
    let device = Device::flex();
    let mut network = SrNetwork::SrResNet(
        SrResNetConfig::new(4)
            .with_num_feat(16)
            .with_num_block(2)
            .init(&device)
            .unwrap(),
    );
    load_pytorch(&mut network, &fixture).unwrap();
    let model = build("srresnet", 4, &device)
        .unwrap()
        .map_network(|_| network);
    check(&model, [1, 3, 13, 17]);
}
