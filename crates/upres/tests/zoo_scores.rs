//! Every built-in photo model reproduces, under the papers' protocol, the Set5 score its file
//! records, and beats bicubic interpolation by a clear margin: the zoo ships what it claims.
//! Models trained to a paper's figure also reach it. (The text models are checked on
//! rendered text in `text_preset.rs`.)

mod common;

use burn::tensor::Device;
use common::dataset;
use upres_infer::model::{AlphaMode, ModelUpscaler};
use upres_infer::zoo::{Domain, ZOO};
use upres_metrics::{Channel, Dataset, LowResSource, evaluate};

/// The Set5 Y-PSNR in a file's `upres.validation` (`Set5 x3: 32.1156 dB / 0.90022, ...`).
fn recorded_set5(validation: &str) -> f64 {
    let after = validation
        .split("Set5 x")
        .nth(1)
        .unwrap_or_else(|| panic!("no Set5 score in {validation}"));
    let value = after.split(": ").nth(1).unwrap().split(' ').next().unwrap();
    value.parse().unwrap()
}

/// Set5 x3 Y-PSNR from the papers, compared at their two decimals: ESPCN's on T91 (Shi et al.,
/// CVPR 2016), and 33.0 for FSRCNN (Dong et al., ECCV 2016: 33.06 with General-100, a set
/// upres does not have, added to T91).
const PAPER_BARS: [(&str, f64); 2] = [("espcn-x3", 32.55), ("fsrcnn-x3", 33.0)];

#[test]
fn built_in_models_score_what_their_files_say() {
    let set5 = Dataset::open(&dataset("Set5")).unwrap();
    for entry in ZOO.iter().filter(|m| m.domain == Domain::Photo) {
        let device = Device::flex();
        let model = entry.load(&device).unwrap();
        let scale = model.scale();
        let upscaler = ModelUpscaler::new(model, device, AlphaMode::Model);
        let scores = evaluate(&upscaler, &set5, scale, LowResSource::Bicubic, Channel::Y).unwrap();
        let recorded = recorded_set5(&entry.metadata().unwrap()["upres.validation"]);
        // Thread counts change float summation order, which moves a few rounded pixels.
        assert!(
            (scores.mean.psnr - recorded).abs() < 5e-3,
            "{}: measured {} dB, file says {recorded}",
            entry.name,
            scores.mean.psnr
        );
        if let Some((_, bar)) = PAPER_BARS.iter().find(|(name, _)| *name == entry.name) {
            assert!(
                (scores.mean.psnr * 100.0).round() / 100.0 >= *bar,
                "{}: {} dB is below the paper's {bar}",
                entry.name,
                scores.mean.psnr
            );
        }
        let bicubic = evaluate(
            &upres_image::Interpolation(upres_image::resize::Filter::Bicubic),
            &set5,
            scale,
            LowResSource::Bicubic,
            Channel::Y,
        )
        .unwrap();
        assert!(
            scores.mean.psnr > bicubic.mean.psnr + 1.0,
            "{}: {} dB is not clearly above bicubic's {}",
            entry.name,
            scores.mean.psnr,
            bicubic.mean.psnr
        );
    }
}
