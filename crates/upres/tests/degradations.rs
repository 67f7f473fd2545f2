//! `upres eval --degradation`: the BD, DN and JPEG30 test sets are made from HR
//! deterministically, and bicubic interpolation scores lower on them than on BI.

mod common;

use common::{arg, dataset, upres, upres_ok};
use std::path::Path;

/// The JSON results of `upres eval --degradation <name>` on Set5 at x2, x3, x4.
fn eval(degradation: &str, json: &Path) -> serde_json::Value {
    let root = dataset("Set5");
    upres_ok(&[
        "eval",
        "--data",
        arg(&root),
        "--scale",
        "2,3,4",
        "--degradation",
        degradation,
        "--json",
        arg(json),
    ]);
    serde_json::from_slice(&std::fs::read(json).unwrap()).unwrap()
}

fn mean_psnr(doc: &serde_json::Value) -> Vec<f64> {
    doc["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["psnr_y"].as_f64().unwrap())
        .collect()
}

#[test]
fn degraded_test_sets_score_lower_than_bicubic_and_repeat_exactly() {
    let tmp = tempfile::tempdir().unwrap();
    let bi = eval("BI", &tmp.path().join("bi.json"));
    let bi_psnr = mean_psnr(&bi);
    assert!(
        bi["results"]
            .as_array()
            .unwrap()
            .iter()
            .all(|r| r["degradation"] == "BI")
    );
    for name in ["BD", "DN", "JPEG30"] {
        let first = tmp.path().join(format!("{name}-1.json"));
        let doc = eval(name, &first);
        for r in doc["results"].as_array().unwrap() {
            assert_eq!(r["degradation"], name);
            assert_eq!(r["dataset"], "Set5");
            for key in ["psnr_y", "ssim_y"] {
                assert!(r[key].as_f64().unwrap().is_finite(), "{name} {key}");
            }
        }
        let psnr = mean_psnr(&doc);
        eprintln!("{name}: {psnr:.3?} (BI {bi_psnr:.3?})");
        for (got, bicubic) in psnr.iter().zip(&bi_psnr) {
            assert!(got < bicubic, "{name}: {got} is not below BI's {bicubic}");
        }
        let second = tmp.path().join(format!("{name}-2.json"));
        eval(name, &second);
        assert_eq!(
            std::fs::read(&first).unwrap(),
            std::fs::read(&second).unwrap(),
            "{name} is not reproducible"
        );
    }
}

#[test]
fn lr_from_disk_is_bicubic_only() {
    let root = dataset("Set5");
    let out = upres(&[
        "eval",
        "--data",
        arg(&root),
        "--scale",
        "3",
        "--lr-from-disk",
        "--degradation",
        "DN",
    ]);
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("--lr-from-disk"), "{stderr}");
    let out = upres(&["eval", "--data", arg(&root), "--degradation", "XY"]);
    assert!(!out.status.success());
}
