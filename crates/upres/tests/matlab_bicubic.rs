//! `upres downscale` against the LR images MATLAB's `imresize` made for the EDSR benchmark
//! layout (`LR_bicubic/X{2,3,4}`): the field's inputs must be reproduced, not approximated.
//! Every value is identical at every scale (the bar would allow 1% off by up to 2 at x2/x4).

mod common;

use common::{arg, dataset, upres_ok};
use upres_image::io;

struct Agreement {
    values: usize,
    equal: usize,
    max_diff: f32,
}

fn compare_dataset(name: &str, scale: usize) -> Agreement {
    let root = dataset(name);
    let tmp = tempfile::tempdir().unwrap();
    let mut total = Agreement {
        values: 0,
        equal: 0,
        max_diff: 0.0,
    };
    let mut hr: Vec<_> = std::fs::read_dir(root.join("HR"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    hr.sort();
    for path in hr {
        let stem = path.file_stem().unwrap().to_str().unwrap().to_string();
        let out = tmp.path().join(format!("{stem}.png"));
        let s = scale.to_string();
        upres_ok(&[
            "downscale",
            "--modcrop",
            "--scale",
            &s,
            arg(&path),
            arg(&out),
        ]);
        let ours = io::read(&out).unwrap().image;
        let reference = root.join(format!("LR_bicubic/X{scale}/{stem}x{scale}.png"));
        let matlab = io::read(&reference).unwrap().image;
        // Set14 has one gray image; MATLAB's LR of it is gray too.
        assert_eq!(
            (ours.width(), ours.height(), ours.layout()),
            (matlab.width(), matlab.height(), matlab.layout()),
            "{stem}"
        );
        for (a, b) in ours.data().iter().zip(matlab.data()) {
            let d = (a - b).abs();
            total.values += 1;
            total.equal += usize::from(d == 0.0);
            total.max_diff = total.max_diff.max(d);
        }
    }
    let pct = 100.0 * total.equal as f64 / total.values as f64;
    eprintln!(
        "{name} x{scale}: {pct:.4}% identical, max diff {}",
        total.max_diff
    );
    total
}

fn assert_identical(name: &str, scale: usize) {
    let a = compare_dataset(name, scale);
    assert_eq!(
        a.equal, a.values,
        "{name} x{scale}: max diff {}",
        a.max_diff
    );
}

#[test]
fn set5_x2_is_identical() {
    assert_identical("Set5", 2);
}

#[test]
fn set5_x3_is_identical() {
    assert_identical("Set5", 3);
}

#[test]
fn set5_x4_is_identical() {
    assert_identical("Set5", 4);
}

#[test]
fn set14_x2_is_identical() {
    assert_identical("Set14", 2);
}

#[test]
fn set14_x3_is_identical() {
    assert_identical("Set14", 3);
}

#[test]
fn set14_x4_is_identical() {
    assert_identical("Set14", 4);
}
