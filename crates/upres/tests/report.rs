//! `upres report` on Set5: its tables agree with `upres eval` and with the published bicubic
//! figures, its grids are the crops it says they are, and bad options fail before any output.

mod common;

use common::{arg, dataset, upres, upres_ok};
use upres_image::io;

/// The value of the table cell in `column` of the row whose method is `method`.
fn cell(markdown: &str, heading: &str, method: &str, column: &str) -> String {
    let section = markdown
        .split("\n## ")
        .find(|s| s.starts_with(heading))
        .unwrap_or_else(|| panic!("no section {heading}"));
    let mut lines = section.lines().filter(|l| l.starts_with('|'));
    let header: Vec<&str> = lines.next().unwrap().split('|').map(str::trim).collect();
    let index = header.iter().position(|h| *h == column).unwrap();
    let row = lines
        .find(|l| l.contains(&format!("`{method}`")))
        .unwrap_or_else(|| panic!("no row {method} in {heading}"));
    row.split('|')
        .map(str::trim)
        .nth(index)
        .unwrap()
        .to_string()
}

#[test]
fn report_matches_eval_and_shows_its_crops() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("report");
    let set5 = dataset("Set5");
    upres_ok(&[
        "report",
        "--models",
        "bicubic,fsrcnn-x3",
        "--data",
        arg(&set5),
        "--scale",
        "3,4",
        "--crop",
        "baby:100,200",
        "-o",
        arg(&out),
    ]);
    let markdown = std::fs::read_to_string(out.join("report.md")).unwrap();
    let html = std::fs::read_to_string(out.join("index.html")).unwrap();

    // The same number `upres eval` prints, and the published bicubic figure within rounding.
    let eval = upres_ok(&["eval", "-m", "fsrcnn-x3", "-d", arg(&set5), "-s", "3"]);
    let eval = String::from_utf8(eval.stdout).unwrap();
    let evaluated: f64 = eval
        .lines()
        .nth(1)
        .unwrap()
        .split_whitespace()
        .rev()
        .nth(1)
        .unwrap()
        .parse()
        .unwrap();
    let psnr: f64 = cell(&markdown, "Set5 x3, BI", "fsrcnn-x3", "PSNR")
        .parse()
        .unwrap();
    assert!(
        (psnr - evaluated).abs() < 6e-4,
        "report {psnr}, eval {eval}"
    );
    let bicubic: f64 = cell(&markdown, "Set5 x3, BI", "bicubic", "PSNR")
        .parse()
        .unwrap();
    assert!((bicubic - 30.39).abs() < 0.01, "{bicubic}");
    assert_eq!(
        cell(&markdown, "Set5 x3, BI", "bicubic", "paper PSNR"),
        "30.39 [1]"
    );
    // A model built for x3 appears only in the x3 table.
    assert!(
        std::panic::catch_unwind(|| cell(&markdown, "Set5 x4, BI", "fsrcnn-x3", "PSNR")).is_err()
    );

    // Two scales x (edges, texture, the chosen crop), each linked from both pages.
    let grids: Vec<_> = std::fs::read_dir(&out)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .filter(|n| n.ends_with(".png"))
        .collect();
    assert_eq!(grids.len(), 6, "{grids:?}");
    for grid in &grids {
        assert!(
            markdown.contains(&format!("({grid})")),
            "{grid} not in report.md"
        );
        assert!(
            html.contains(&format!("src=\"{grid}\"")),
            "{grid} not in index.html"
        );
    }
    // The chosen crop moved onto the 12-pixel grid; at x3 its grid is input, bicubic,
    // fsrcnn-x3 and HR, each 48 pixels enlarged 4 times; the HR tile is the HR image's pixels.
    assert!(markdown.contains("chosen of baby, at 96,192"), "{markdown}");
    let grid = io::read(&out.join("set5_x3_bi_chosen_baby.png"))
        .unwrap()
        .image;
    let tile = 48 * 4;
    assert_eq!(grid.width(), 6 + 4 * (tile + 6));
    let hr = io::read(&set5.join("HR/baby.png")).unwrap().image;
    let left = 6 + 3 * (tile + 6);
    for (dx, dy) in [(0, 0), (47, 0), (13, 29), (47, 47)] {
        for k in [0, 3] {
            let shown = grid.pixel(left + dx * 4 + k, 6 + dy * 4 + k);
            assert_eq!(shown, hr.pixel(96 + dx, 192 + dy), "HR tile at {dx},{dy}");
        }
    }
}

#[test]
fn bad_report_options_fail_with_one_line_and_no_output() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("report");
    let set5 = dataset("Set5");
    for (extra, message) in [
        (vec!["--crop-size", "40"], "multiple of 12"),
        (
            vec!["--crop", "nosuch:1,2"],
            "no dataset has an image of that name",
        ),
        (vec!["--crop", "baby:500,0"], "does not fit"),
        (vec!["--models", "nosuch-model"], "nosuch-model"),
    ] {
        let mut args = vec![
            "report",
            "--data",
            arg(&set5),
            "--scale",
            "2,3,4",
            "-o",
            arg(&out),
        ];
        args.extend(extra);
        let result = upres(&args);
        let stderr = String::from_utf8_lossy(&result.stderr);
        assert!(!result.status.success(), "{args:?} succeeded");
        assert!(stderr.contains(message), "{args:?}: {stderr}");
        assert_eq!(stderr.trim().lines().count(), 1, "{args:?}: {stderr}");
        assert!(!out.join("index.html").exists(), "{args:?} wrote a report");
    }
}
