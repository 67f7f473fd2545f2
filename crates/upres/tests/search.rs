//! `upres search` end to end on a tiny space: every candidate timed, those within the budget
//! trained and validated, the results written, and the winner saved as a model file that
//! rebuilds its variant.

mod common;

use burn::tensor::Device;
use common::{arg, dataset, upres_ok};
use upres_infer::model::find_model;

#[test]
fn tiny_search_writes_front_and_winner() {
    let dir = tempfile::tempdir().unwrap();
    let recipe = dir.path().join("search.toml");
    std::fs::write(
        &recipe,
        format!(
            "[model]\nname = \"edsr-baseline\"\nscale = 2\n\n\
             [data]\nhr = [\"{}\"]\npatch = 12\n\n\
             [optimizer]\nlr = 1e-3\n\n\
             [train]\niterations = 3\nbatch = 2\n\n\
             [validation]\nevery = 3\ndata = [\"{}\"]\n",
            dataset("T91").join("HR").display(),
            dataset("Set5").display()
        ),
    )
    .unwrap();
    let out = dir.path().join("search");
    let stdout = upres_ok(&[
        "search",
        arg(&recipe),
        "--budget",
        "1e9",
        "--blocks",
        "0,1",
        "--features",
        "8",
        "--upsamplers",
        "sub-pixel",
        "--latency-size",
        "32",
        "--runs",
        "1",
        "-o",
        arg(&out),
    ])
    .stdout;
    let stdout = String::from_utf8_lossy(&stdout);
    assert!(stdout.contains("winner within"), "{stdout}");

    let csv = std::fs::read_to_string(out.join("search.csv")).unwrap();
    let rows: Vec<Vec<&str>> = csv
        .lines()
        .skip(1)
        .map(|l| l.split(',').collect())
        .collect();
    assert_eq!(rows.len(), 2);
    // Both trained; the front is not empty, and a candidate off it is beaten by one on it.
    assert!(rows.iter().all(|r| r[6].parse::<f64>().is_ok()));
    assert!(rows.iter().any(|r| r[7] == "true"));
    for (ms, psnr) in rows
        .iter()
        .filter(|r| r[7] == "false")
        .map(|r| (r[5], r[6]))
    {
        let (ms, psnr): (f64, f64) = (ms.parse().unwrap(), psnr.parse().unwrap());
        assert!(rows.iter().filter(|r| r[7] == "true").any(|r| {
            r[5].parse::<f64>().unwrap() <= ms && r[6].parse::<f64>().unwrap() >= psnr
        }));
    }
    assert!(out.join("search.md").is_file() && out.join("pareto.png").is_file());

    let winner = find_model(arg(&out.join("winner.upres")), &Device::flex())
        .unwrap()
        .unwrap();
    assert_eq!(winner.variant().features, Some(8));
    assert!(winner.variant().sub_pixel);
}
