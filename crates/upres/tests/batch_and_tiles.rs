//! Folder batches survive one bad file; tiled output equals untiled output.

mod common;

use common::{arg, dataset, upres, upres_ok};
use upres_image::io;

#[test]
fn a_truncated_file_fails_alone_and_the_batch_goes_on() {
    let tmp = tempfile::tempdir().unwrap();
    let (src, out) = (tmp.path().join("in"), tmp.path().join("out"));
    std::fs::create_dir_all(src.join("nested")).unwrap();
    let hr = dataset("Set5").join("HR");
    for name in ["bird", "butterfly"] {
        std::fs::copy(
            hr.join(format!("{name}.png")),
            src.join(format!("{name}.png")),
        )
        .unwrap();
    }
    std::fs::copy(hr.join("head.png"), src.join("nested/head.png")).unwrap();
    let whole = std::fs::read(hr.join("woman.png")).unwrap();
    std::fs::write(src.join("broken.png"), &whole[..whole.len() / 3]).unwrap();

    let result = upres(&["upscale", "-i", arg(&src), "-o", arg(&out), "-s", "2"]);
    assert!(!result.status.success());
    let stderr = String::from_utf8(result.stderr).unwrap();
    assert!(stderr.contains("broken.png"), "{stderr}");
    assert!(stderr.contains("1 of 4 files failed"), "{stderr}");
    for done in ["bird.png", "butterfly.png", "nested/head.png"] {
        let img = io::read(&out.join(done)).unwrap().image;
        let orig = io::read(&src.join(done)).unwrap().image;
        assert_eq!(
            (img.width(), img.height()),
            (2 * orig.width(), 2 * orig.height()),
            "{done}"
        );
    }
    assert!(!out.join("broken.png").exists());
}

#[test]
fn tile_size_does_not_change_the_output() {
    let tmp = tempfile::tempdir().unwrap();
    let input = dataset("Set5").join("HR/butterfly.png");
    let run = |tile: &str, model: &str| {
        let output = tmp.path().join(format!("{model}_{tile}.png"));
        upres_ok(&[
            "upscale",
            "-i",
            arg(&input),
            "-o",
            arg(&output),
            "-s",
            "3",
            "-m",
            model,
            "--tile",
            tile,
        ]);
        io::read(&output).unwrap().image
    };
    for model in ["bicubic", "lanczos3"] {
        let whole = run("100000", model);
        for tile in ["1", "7", "64"] {
            assert!(run(tile, model) == whole, "{model} tile {tile}");
        }
    }
}
