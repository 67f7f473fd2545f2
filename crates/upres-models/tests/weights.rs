//! Weight files: errors that name the offending key, and safetensors round trips.

use std::path::PathBuf;

use burn::module::Param;
use burn::tensor::ops::PadMode;
use burn::tensor::{Device, Distribution, Tensor};
use upres_models::arch::{EdsrConfig, RcanConfig, RrdbNetConfig, SrNetwork, SrVggConfig};
use upres_models::registry::{SrModel, build, build_variant, load};
use upres_models::weights::{load_pytorch, load_safetensors, save_safetensors};
use upres_models::{Variant, WeightsError};

fn fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests")
        .join("fixtures")
        .join(name)
}

fn small_edsr(blocks: usize) -> EdsrConfig {
    EdsrConfig::new(4)
        .with_n_resblocks(blocks)
        .with_n_feats(16)
        .with_res_scale(0.1)
}

#[test]
fn missing_key_is_named() {
    let mut net = small_edsr(3).init(&Device::flex()).unwrap();
    let err = load_pytorch(&mut net, &fixture("edsr_x4.pth")).unwrap_err();
    assert!(
        matches!(&err, WeightsError::MissingKey { key, param, .. }
            if key == "body.2.body.0.weight" && param == "body.2.conv1.weight"),
        "{err}"
    );
    assert!(err.to_string().contains("body.2.body.0.weight"));
}

#[test]
fn unexpected_key_is_named() {
    let config = RrdbNetConfig::new(4)
        .with_num_feat(16)
        .with_num_block(1)
        .with_num_grow_ch(8);
    let mut net = config.init(&Device::flex()).unwrap();
    let err = load_pytorch(&mut net, &fixture("rrdbnet_x4.pth")).unwrap_err();
    assert!(
        matches!(&err, WeightsError::UnexpectedKey { key, .. } if key == "body.1.rdb1.conv1.bias"),
        "{err}"
    );
}

#[test]
fn shape_mismatch_is_named() {
    let config = SrVggConfig::new(4).with_num_feat(16).with_num_conv(1);
    let mut net = config.init(&Device::flex()).unwrap();
    let err = load_pytorch(&mut net, &fixture("srvgg_x4.pth")).unwrap_err();
    assert!(
        matches!(&err, WeightsError::ShapeMismatch { key, expected, found, .. }
            if key == "body.4.weight" && expected == &[48, 16, 3, 3] && found == &[16, 16, 3, 3]),
        "{err}"
    );
}

#[test]
fn mean_shift_of_another_rgb_range_is_refused() {
    let config = RcanConfig::new(2)
        .with_n_resgroups(2)
        .with_n_resblocks(2)
        .with_n_feats(16)
        .with_reduction(4);
    let mut net = config.init(&Device::flex()).unwrap();
    let err = load_pytorch(&mut net, &fixture("rcan_x2.pth")).unwrap_err();
    assert!(
        matches!(&err, WeightsError::FixedTensor { key, .. } if key == "sub_mean.bias"),
        "{err}"
    );
}

#[test]
fn unreadable_checkpoint_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("garbage.pth");
    std::fs::write(&path, b"not a checkpoint").unwrap();
    let mut net = small_edsr(2).init(&Device::flex()).unwrap();
    let err = load_pytorch(&mut net, &path).unwrap_err();
    assert!(matches!(err, WeightsError::Checkpoint { .. }), "{err}");
}

#[test]
fn safetensors_round_trip_keeps_outputs() {
    let device = Device::flex();
    let mut net = SrNetwork::Edsr(small_edsr(2).init(&device).unwrap());
    load_pytorch(&mut net, &fixture("edsr_x4.pth")).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("edsr.safetensors");
    save_safetensors(&net, &path, &[]).unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&path).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o644, "readable by all, like any output");
    }

    let mut reloaded = SrNetwork::Edsr(small_edsr(2).init(&device).unwrap());
    load_safetensors(&mut reloaded, &path).unwrap();
    let x = Tensor::<4>::random([1, 3, 6, 5], Distribution::Uniform(0.0, 1.0), &device);
    let a = net
        .forward(x.clone())
        .into_data()
        .try_into_vec::<f32>()
        .unwrap();
    let b = reloaded
        .forward(x)
        .into_data()
        .try_into_vec::<f32>()
        .unwrap();
    assert_eq!(a, b);
}

#[test]
fn safetensors_mismatches_are_named() {
    let device = Device::flex();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("edsr2.safetensors");
    save_safetensors(&small_edsr(2).init(&device).unwrap(), &path, &[]).unwrap();

    let mut fewer = small_edsr(1).init(&device).unwrap();
    let err = load_safetensors(&mut fewer, &path).unwrap_err();
    assert!(
        matches!(&err, WeightsError::UnexpectedKey { key, .. } if key.starts_with("body.1.")),
        "{err}"
    );
    let mut more = small_edsr(3).init(&device).unwrap();
    let err = load_safetensors(&mut more, &path).unwrap_err();
    assert!(
        matches!(&err, WeightsError::MissingKey { key, .. } if key.starts_with("body.2.")),
        "{err}"
    );
}

#[test]
fn registry_model_saves_and_loads() {
    let device = Device::flex();
    let model = build("srvgg-compact", 2, &device).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("srvgg.safetensors");
    model.save_safetensors(&path).unwrap();
    let mut other = build("srvgg-compact", 2, &device).unwrap();
    other.load_safetensors(&path).unwrap();
    let mut wrong_scale = build("srvgg-compact", 4, &device).unwrap();
    let err = wrong_scale.load_safetensors(&path).unwrap_err();
    assert!(matches!(err, WeightsError::ShapeMismatch { .. }), "{err}");

    let loaded = load(&path, &device).unwrap();
    assert_eq!((loaded.name(), loaded.scale()), ("srvgg-compact", 2));
    let x = Tensor::<4>::random([1, 3, 4, 3], Distribution::Uniform(0.0, 1.0), &device);
    let a = model.forward(x.clone()).unwrap().into_data();
    let b = loaded.forward(x).unwrap().into_data();
    assert_eq!(a, b);
}

#[test]
fn load_needs_upres_metadata() {
    let device = Device::flex();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bare.safetensors");
    save_safetensors(&small_edsr(1).init(&device).unwrap(), &path, &[]).unwrap();
    let err = load(&path, &device).unwrap_err();
    assert!(matches!(err, WeightsError::Metadata { .. }), "{err}");
    assert!(err.to_string().contains("upres.model"), "{err}");
}

#[test]
fn init_from_the_other_fsrcnn_layout_keeps_the_function() {
    let device = Device::flex();
    let mut port = build("fsrcnn-y", 3, &device).unwrap();
    // Only the kernel's first row and column fall off when it is centred at x3.
    if let SrNetwork::Fsrcnn(net) = &mut port.network {
        let keep =
            Tensor::<4>::ones([56, 1, 8, 8], &device).pad([(1, 0), (1, 0)], PadMode::Constant(0.0));
        net.deconv.weight = Param::from_tensor(net.deconv.weight.val() * keep);
    }
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("port.upres");
    port.save_safetensors(&path).unwrap();
    let centred_variant = Variant {
        centred_deconv: true,
        ..Variant::default()
    };
    let mut centred = build_variant("fsrcnn-y", 3, centred_variant, &device).unwrap();
    centred.load_init(&path).unwrap();
    let mut plain = build_variant("fsrcnn-y", 3, centred_variant, &device).unwrap();
    plain.load_safetensors(&path).unwrap();

    let x = Tensor::<4>::random([1, 1, 6, 5], Distribution::Uniform(0.0, 1.0), &device);
    let expected = port.forward(x.clone()).unwrap();
    let error = |model: &SrModel| -> f32 {
        let y = model.forward(x.clone()).unwrap();
        (y - expected.clone()).abs().max().into_scalar()
    };
    assert!(error(&centred) < 1e-5, "{}", error(&centred));
    // Loaded as they are, the weights shift the output by a pixel.
    assert!(error(&plain) > 1e-2, "{}", error(&plain));

    // Back again, and a file of the same layout loads as it is.
    let centred_path = dir.path().join("centred.upres");
    centred.save_safetensors(&centred_path).unwrap();
    let mut back = build("fsrcnn-y", 3, &device).unwrap();
    back.load_init(&centred_path).unwrap();
    assert!(error(&back) < 1e-5, "{}", error(&back));
    let mut same = build_variant("fsrcnn-y", 3, centred_variant, &device).unwrap();
    same.load_init(&centred_path).unwrap();
    assert!(error(&same) < 1e-5, "{}", error(&same));
}
