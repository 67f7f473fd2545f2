//! The text preset: its built-in model reads rendered text better than bicubic and the
//! general model (Tesseract's character error rate, character accuracy, edge sharpness,
//! PSNR), and `--preset text` upscales gray and bilevel scans to gray.

mod common;

use std::path::Path;

use burn::tensor::Device;
use common::{arg, upres, upres_ok};
use upres_image::resize::Filter;
use upres_image::{Interpolation, Layout, io};
use upres_infer::model::{AlphaMode, ModelUpscaler};
use upres_infer::zoo;
use upres_metrics::text::{
    DEFAULT_FONT, PageLayout, TextFont, TextPage, TextScores, evaluate_text, tesseract_available,
};

fn font(size: f32) -> Option<TextFont> {
    if !Path::new(DEFAULT_FONT).exists() {
        assert!(
            std::env::var_os("UPRES_REQUIRE_TOOLS").is_none(),
            "{DEFAULT_FONT} is missing: install Debian's fonts-dejavu-core"
        );
        eprintln!("skipping: {DEFAULT_FONT} is missing");
        return None;
    }
    Some(TextFont::open(Path::new(DEFAULT_FONT), size).unwrap())
}

fn built_in(name: &str) -> ModelUpscaler {
    let device = Device::flex();
    let model = zoo::find(name).unwrap().load(&device).unwrap();
    ModelUpscaler::new(model, device, AlphaMode::Model)
}

/// Bicubic, the general model and the text model on three pages of `size`-pixel text at x2
/// (seeds far from the training pages': 10000 to 20039).
fn scores(size: f32, ocr: bool) -> Option<[TextScores; 3]> {
    let font = font(size)?;
    let score = |method: &dyn upres_image::Upscaler| -> TextScores {
        let pages = 1_000_000..1_000_003;
        evaluate_text(method, &font, PageLayout::default(), pages, 2, ocr).unwrap()
    };
    let all = [
        score(&Interpolation(Filter::Bicubic)),
        score(&built_in("fsrcnn-x2")),
        score(&built_in("text-x2")),
    ];
    for s in &all {
        println!(
            "{size} px {:<10} {:.3} dB {:.4} sharpness {:.3} characters {:.3} OCR CER {:?}",
            s.method, s.mean.psnr, s.mean.ssim, s.sharpness, s.characters, s.ocr_error
        );
    }
    Some(all)
}

#[test]
fn the_text_model_reads_small_text_best() {
    let Some([bicubic, general, text]) = scores(12.0, false) else {
        return;
    };
    assert!(text.characters > general.characters + 0.1);
    assert!(text.characters > 0.9);
    assert!(general.characters > bicubic.characters);
    assert!(text.sharpness > general.sharpness && general.sharpness > bicubic.sharpness);
    assert!(text.mean.psnr > general.mean.psnr + 1.0);
}

#[test]
fn tesseract_reads_the_text_model_best() {
    if !tesseract_available() {
        assert!(
            std::env::var_os("UPRES_REQUIRE_TOOLS").is_none(),
            "tesseract is missing: install Debian's tesseract-ocr"
        );
        eprintln!("skipping: tesseract is missing");
        return;
    }
    // At 16 px, where Tesseract reads the clean page well (5 % of its random characters
    // wrong; at 12 px, 17 %).
    let Some([bicubic, general, text]) = scores(16.0, true) else {
        return;
    };
    let cer = |s: &TextScores| s.ocr_error.unwrap();
    assert!(
        cer(&text) + 0.02 < cer(&general),
        "{} vs {}",
        cer(&text),
        cer(&general)
    );
    assert!(cer(&text) + 0.05 < cer(&bicubic));
}

#[test]
fn preset_text_upscales_gray_and_bilevel_scans_to_gray() {
    let Some(font) = font(16.0) else { return };
    let tmp = tempfile::tempdir().unwrap();
    let page = TextPage::render(&font, PageLayout::default(), 7).unwrap();
    let (w, h) = (page.image.width(), page.image.height());
    let gray = tmp.path().join("gray.png");
    io::write(&gray, &page.image, &Default::default(), Default::default()).unwrap();
    // The same page thresholded into a 1-bit PNG, as a fax-style scan is stored.
    let bilevel = tmp.path().join("bilevel.png");
    let mut packed = vec![0u8; w.div_ceil(8) * h];
    for (i, v) in page.image.data().iter().enumerate() {
        if *v >= 128.0 {
            packed[(i / w) * w.div_ceil(8) + (i % w) / 8] |= 0x80 >> (i % 8);
        }
    }
    let mut encoder =
        png::Encoder::new(std::fs::File::create(&bilevel).unwrap(), w as u32, h as u32);
    encoder.set_color(png::ColorType::Grayscale);
    encoder.set_depth(png::BitDepth::One);
    encoder
        .write_header()
        .unwrap()
        .write_image_data(&packed)
        .unwrap();

    for input in [&gray, &bilevel] {
        let preset = tmp.path().join("preset.png");
        let named = tmp.path().join("named.png");
        let run = |out: &Path, choice: &[&str]| {
            let mut args = vec!["upscale", "-i", arg(input), "-o", arg(out), "-s", "2"];
            args.extend_from_slice(choice);
            args.push("--overwrite");
            upres_ok(&args);
            io::read(out).unwrap().image
        };
        let by_preset = run(&preset, &["--preset", "text"]);
        let by_name = run(&named, &["-m", "text-x2"]);
        assert_eq!(by_preset.layout(), Layout::Gray, "{}", input.display());
        assert_eq!((by_preset.width(), by_preset.height()), (2 * w, 2 * h));
        assert_eq!(
            by_preset.data(),
            by_name.data(),
            "the preset is the text model"
        );
    }

    let out = upres(&[
        "upscale",
        "-i",
        arg(&gray),
        "-o",
        arg(&tmp.path().join("x4.png")),
        "-s",
        "4",
        "--preset",
        "text",
    ]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(err.trim().lines().count(), 1, "{err}");
    assert!(err.contains("no model at x4"), "{err}");
}
