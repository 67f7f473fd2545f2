//! INT8 quantization keeps a trained model's quality and survives its file: the built-in
//! ESPCN x3, calibrated by `upres quantize` on Set14's MATLAB-made x3 inputs (the defaults:
//! ranges at percentile 99.99, weights rounded by GPTQ), scores within 0.04 dB of its `f32`
//! self on Set5 (Y channel, papers' protocol) while really running in 8 bits, and closer than
//! with weights rounded to nearest; the written file loads as that INT8 model, and its
//! weights, moved onto their 8-bit grid, still score as the original ones in `f32`
//! (docs/deployment.md has the figures).

mod common;

use burn::tensor::Device;
use common::{arg, dataset, upres, upres_ok};
use upres_infer::model::{AlphaMode, ModelUpscaler, find_model};
use upres_metrics::{Channel, Dataset, LowResSource, evaluate};

fn set5_psnr(model: &upres_models::SrModel) -> f64 {
    let set5 = Dataset::open(&dataset("Set5")).unwrap();
    let scale = model.scale();
    let upscaler = ModelUpscaler::new(model.clone(), Device::flex(), AlphaMode::Model);
    evaluate(&upscaler, &set5, scale, LowResSource::Bicubic, Channel::Y)
        .unwrap()
        .mean
        .psnr
}

#[test]
fn quantized_espcn_keeps_its_set5_score() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("espcn-x3-int8.upres");
    let calib = dataset("Set14").join("LR_bicubic/X3");
    let quantize = [
        "quantize",
        "-m",
        "espcn-x3",
        "--calib",
        arg(&calib),
        "-o",
        arg(&file),
    ];
    let out = upres_ok(&quantize);
    assert!(String::from_utf8_lossy(&out.stdout).contains("1 of 3 convolutions in INT8"));
    let info = upres_ok(&["info", arg(&file)]).stdout;
    let info = String::from_utf8_lossy(&info);
    assert!(
        info.contains(
            "upres.int8: 1 of 3 convolutions in INT8, ranges by percentile 99.99 on 14 images, \
             weights rounded by GPTQ"
        ),
        "{info}"
    );
    assert!(info.contains("upres.quantized_from: espcn-x3"), "{info}");

    let device = Device::flex();
    let float = find_model("espcn-x3", &device).unwrap().unwrap();
    let int8 = find_model(arg(&file), &device).unwrap().unwrap();
    let calibration = int8.int8.clone().expect("the file carries its calibration");
    assert_eq!(calibration.images, 14);
    // The 64 -> 32 convolution only: the first reads luma, the last writes 9 channels.
    assert!(calibration.inputs[1].is_some() && calibration.inputs[0].is_none());

    let mut moved = int8.clone();
    moved.int8 = None;
    let (float, gptq, moved) = (set5_psnr(&float), set5_psnr(&int8), set5_psnr(&moved));
    assert!(float != gptq, "the INT8 model ran in f32");
    assert!(
        float - gptq < 0.04,
        "INT8 lost {} dB: {float} -> {gptq}",
        float - gptq
    );
    assert!(moved != float, "GPTQ left the weights as they were");
    assert!(
        (moved - float).abs() < 0.01,
        "GPTQ's weights in f32: {moved}"
    );

    let nearest_file = dir.path().join("espcn-x3-nearest.upres");
    let mut nearest_args = quantize.to_vec();
    nearest_args[6] = arg(&nearest_file);
    nearest_args.extend(["--rounding", "nearest"]);
    upres_ok(&nearest_args);
    let nearest = set5_psnr(&find_model(arg(&nearest_file), &device).unwrap().unwrap());
    assert!(
        nearest < gptq,
        "nearest rounding {nearest} dB, GPTQ {gptq} dB"
    );

    // A second run refuses to overwrite, in one line, leaving the file as it was.
    let before = std::fs::read(&file).unwrap();
    let again = upres(&quantize);
    assert!(!again.status.success());
    assert_eq!(
        String::from_utf8_lossy(&again.stderr)
            .trim()
            .lines()
            .count(),
        1
    );
    assert_eq!(std::fs::read(&file).unwrap(), before);
}
