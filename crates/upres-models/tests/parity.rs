//! Parity with the PyTorch reference implementations (`tools/pytorch_reference.py`): each
//! fixture's checkpoint is imported under its official key names, run on the flex backend and
//! compared with the PyTorch output; full-size models must have the reference parameter counts.

use std::path::PathBuf;

use burn::tensor::{Device, Tensor, TensorData};
use upres_models::arch::{
    EdsrConfig, EspcnConfig, FsrcnnConfig, MsrResNetConfig, RcanConfig, RrdbNetConfig, SrNetwork,
    SrResNetConfig, SrVggConfig, SrcnnConfig, UNetSrConfig,
};
use upres_models::registry::{InputKind, build, specs};
use upres_models::weights::load_pytorch;

const TOLERANCE: f32 = 1e-4;

fn fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests")
        .join("fixtures")
        .join(name)
}

fn device() -> Device {
    Device::flex()
}

/// `(input, expected output values, expected output shape)` of a fixture.
fn io(case: &str) -> (Tensor<4>, Vec<f32>, [usize; 4]) {
    let bytes = std::fs::read(fixture(&format!("{case}_io.safetensors"))).unwrap();
    let file = safetensors::SafeTensors::deserialize(&bytes).unwrap();
    let read = |name: &str| {
        let view = file.tensor(name).unwrap();
        let values: Vec<f32> = view
            .data()
            .chunks_exact(4)
            .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
            .collect();
        let shape: [usize; 4] = view.shape().try_into().unwrap();
        (values, shape)
    };
    let (input, input_shape) = read("input");
    let (output, output_shape) = read("output");
    let x = Tensor::from_data(TensorData::new(input, input_shape), &device());
    (x, output, output_shape)
}

fn check(case: &str, mut net: SrNetwork) {
    load_pytorch(&mut net, &fixture(&format!("{case}.pth"))).unwrap();
    let (x, expected, shape) = io(case);
    let y = net.forward(x);
    assert_eq!(y.dims(), shape, "{case}");
    let got = y.into_data().try_into_vec::<f32>().unwrap();
    let max = got
        .iter()
        .zip(&expected)
        .map(|(a, b)| (a - b).abs())
        .fold(0.0f32, f32::max);
    println!("parity {case}: max abs diff {max:.3e}");
    assert!(max <= TOLERANCE, "{case}: max abs diff {max}");
}

#[test]
fn srcnn() {
    let net = SrcnnConfig::new().with_n1(16).with_n2(8).init(&device());
    check("srcnn", SrNetwork::Srcnn(net.unwrap()));
}

#[test]
fn fsrcnn_x3() {
    let net = FsrcnnConfig::new(3)
        .with_d(24)
        .with_s(8)
        .with_m(2)
        .init(&device());
    check("fsrcnn_x3", SrNetwork::Fsrcnn(net.unwrap()));
}

#[test]
fn espcn_x3() {
    let net = EspcnConfig::new(3).with_n1(16).with_n2(8).init(&device());
    check("espcn_x3", SrNetwork::Espcn(net.unwrap()));
}

#[test]
fn edsr_x4() {
    let net = EdsrConfig::new(4)
        .with_n_resblocks(2)
        .with_n_feats(16)
        .with_res_scale(0.1)
        .init(&device());
    check("edsr_x4", SrNetwork::Edsr(net.unwrap()));
}

#[test]
fn edsr_x3() {
    let net = EdsrConfig::new(3)
        .with_n_resblocks(1)
        .with_n_feats(8)
        .init(&device());
    check("edsr_x3", SrNetwork::Edsr(net.unwrap()));
}

#[test]
fn rcan_x2_rgb_range_255() {
    let net = RcanConfig::new(2)
        .with_n_resgroups(2)
        .with_n_resblocks(2)
        .with_n_feats(16)
        .with_reduction(4)
        .with_rgb_range(255.0)
        .init(&device());
    check("rcan_x2", SrNetwork::Rcan(net.unwrap()));
}

#[test]
fn srresnet_x4() {
    let net = SrResNetConfig::new(4)
        .with_num_feat(16)
        .with_num_block(2)
        .init(&device());
    check("srresnet_x4", SrNetwork::SrResNet(net.unwrap()));
}

#[test]
fn msrresnet_x4() {
    let net = MsrResNetConfig::new(4)
        .with_num_feat(16)
        .with_num_block(2)
        .init(&device());
    check("msrresnet_x4", SrNetwork::MsrResNet(net.unwrap()));
}

#[test]
fn msrresnet_x3() {
    let net = MsrResNetConfig::new(3)
        .with_num_feat(8)
        .with_num_block(1)
        .init(&device());
    check("msrresnet_x3", SrNetwork::MsrResNet(net.unwrap()));
}

#[test]
fn rrdbnet_x4_params_ema() {
    let net = RrdbNetConfig::new(4)
        .with_num_feat(16)
        .with_num_block(2)
        .with_num_grow_ch(8)
        .init(&device());
    check("rrdbnet_x4", SrNetwork::RrdbNet(net.unwrap()));
}

#[test]
fn rrdbnet_x2_pixel_unshuffle() {
    let net = RrdbNetConfig::new(2)
        .with_num_feat(8)
        .with_num_block(1)
        .with_num_grow_ch(4)
        .init(&device());
    check("rrdbnet_x2", SrNetwork::RrdbNet(net.unwrap()));
}

#[test]
fn srvgg_x4() {
    let net = SrVggConfig::new(4)
        .with_num_feat(16)
        .with_num_conv(2)
        .init(&device());
    check("srvgg_x4", SrNetwork::SrVgg(net.unwrap()));
}

#[test]
fn unet_x3() {
    let net = UNetSrConfig::new(3).with_num_feat(4).init(&device());
    check("unet_x3", SrNetwork::UNetSr(net.unwrap()));
}

/// `name scale count` lines printed by the reference script for the paper-default configs.
fn reference_counts() -> Vec<(String, usize, usize)> {
    std::fs::read_to_string(fixture("param_counts.txt"))
        .unwrap()
        .lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .map(|l| {
            let f: Vec<&str> = l.split_whitespace().collect();
            (
                f[0].to_string(),
                f[1].parse().unwrap(),
                f[2].parse().unwrap(),
            )
        })
        .collect()
}

#[test]
fn full_size_param_counts_match_reference() {
    let reference = reference_counts();
    let registered: usize = specs().iter().map(|s| s.scales.len()).sum();
    assert_eq!(
        reference.len(),
        registered,
        "every registered model and scale is covered"
    );
    for (name, scale, count) in reference {
        let model = build(&name, scale, &device()).unwrap();
        assert_eq!(model.num_params(), count, "{name} x{scale}");
    }
    // The counts the papers and model zoos quote.
    let count = |name: &str, scale| build(name, scale, &device()).unwrap().num_params();
    assert_eq!(count("edsr-baseline", 2), 1_369_859);
    assert_eq!(count("edsr-baseline", 4), 1_517_571);
    assert_eq!(count("edsr", 4), 43_089_923);
    assert_eq!(count("rcan", 4), 15_592_355);
    assert_eq!(count("rrdbnet", 4), 16_697_987);
    assert_eq!(count("msrresnet", 4), 1_517_571);
}

#[test]
fn full_size_models_run_on_a_tiny_input() {
    let device = device();
    for spec in specs() {
        for &scale in spec.scales {
            let model = build(spec.name, scale, &device).unwrap();
            let (h, w) = match spec.input {
                InputKind::Upsampled => (4 * scale, 4 * scale),
                InputKind::LowResolution => (4, 4),
            };
            let c = spec.color.channels();
            let y = model.forward(Tensor::zeros([1, c, h, w], &device)).unwrap();
            let expected = match spec.input {
                InputKind::Upsampled => [1, c, h, w],
                InputKind::LowResolution => [1, c, h * scale, w * scale],
            };
            assert_eq!(y.dims(), expected, "{} x{scale}", spec.name);
        }
    }
}
