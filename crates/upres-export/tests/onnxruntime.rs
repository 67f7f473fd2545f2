//! Every architecture exported to ONNX and run by onnxruntime (`tools/onnx_run.py`, in the
//! Python found at `UPRES_PYTHON`, else `tools/.venv/bin/python`, else `python3`) gives
//! upres's own output within 1e-4, at two input sizes with batch 2, at its first and last
//! scale (one upsampling stage, and the most).

use std::path::{Path, PathBuf};
use std::process::Command;

use burn::tensor::Device;
use upres_export::export_onnx;
use upres_infer::fast::FastOps;
use upres_kernels::{BORDER, FeatureMap};
use upres_models::Variant;
use upres_models::registry::{build, build_variant, specs};

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn python() -> PathBuf {
    if let Some(python) = std::env::var_os("UPRES_PYTHON") {
        return python.into();
    }
    let venv = repo().join("tools/.venv/bin/python");
    if venv.exists() {
        venv
    } else {
        "python3".into()
    }
}

fn write_f32(path: &Path, values: &[f32]) {
    let bytes: Vec<u8> = values.iter().flat_map(|v| v.to_le_bytes()).collect();
    std::fs::write(path, bytes).unwrap();
}

fn read_f32(path: &Path) -> Vec<f32> {
    std::fs::read(path)
        .unwrap()
        .chunks_exact(4)
        .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
        .collect()
}

#[test]
fn every_architecture_matches_onnxruntime() {
    let dir = tempfile::tempdir().unwrap();
    let device = Device::flex();
    let presets = specs().iter().flat_map(|spec| {
        [spec.scales[0], spec.scales[spec.scales.len() - 1]]
            .map(|scale| build(spec.name, scale, &device).unwrap())
    });
    // FSRCNN's centred transposed convolution pads differently at each scale.
    let centred = Variant {
        centred_deconv: true,
        ..Variant::default()
    };
    let variants = [3, 4].map(|scale| build_variant("fsrcnn-y", scale, centred, &device).unwrap());
    for (index, model) in presets.chain(variants).enumerate() {
        let (spec, scale) = (model.spec(), model.scale());
        let onnx = dir
            .path()
            .join(format!("{index}_{}_x{scale}.onnx", spec.name));
        export_onnx(&model, &onnx).unwrap();
        let m = model.input_multiple();
        let c = spec.color.channels();
        let mut args = vec![onnx.display().to_string()];
        let mut cases = Vec::new();
        for (i, (h, w)) in [(6, 5), (9, 11)].into_iter().enumerate() {
            let dims = [2, c, model.input_side(h * m), model.input_side(w * m)];
            let len: usize = dims.iter().product();
            let x: Vec<f32> = (0..len)
                .map(|k| ((k * 7919 + i) % 1000) as f32 / 1000.0)
                .collect();
            let input = dir.path().join(format!("{index}_x{scale}_{i}.in"));
            let output = dir.path().join(format!("{index}_x{scale}_{i}.out"));
            write_f32(&input, &x);
            let shape = dims.map(|d| d.to_string()).join(",");
            args.extend([
                input.display().to_string(),
                shape,
                output.display().to_string(),
            ]);
            cases.push((dims, x, output));
        }
        let status = Command::new(python())
            .arg(repo().join("tools/onnx_run.py"))
            .args(&args)
            .status()
            .expect("running Python: set UPRES_PYTHON or create tools/.venv (see .ci/run)");
        assert!(
            status.success(),
            "tools/onnx_run.py failed: it needs onnxruntime and numpy (pip install onnxruntime numpy)"
        );
        for (dims, x, output) in cases {
            let [n, c, h, w] = dims;
            let fast = FastOps::new();
            let ours = model
                .run(&fast, dims, FeatureMap::from_nchw(n, c, h, w, &x, BORDER))
                .unwrap();
            let theirs = read_f32(&output);
            let ours = ours.to_nchw();
            assert_eq!(ours.len(), theirs.len(), "{} {dims:?}", model.label());
            let diff = ours
                .iter()
                .zip(&theirs)
                .map(|(a, b)| (a - b).abs())
                .fold(0.0f32, f32::max);
            println!(
                "{} x{scale} {dims:?}: max abs diff {diff:.2e}",
                model.label()
            );
            assert!(
                diff <= 1e-4,
                "{} {dims:?}: max abs diff {diff}",
                model.label()
            );
        }
    }
}
