//! `upres models` prints the parameter counts that the reference PyTorch implementations
//! print (`tools/pytorch_reference.py` wrote them to the models' test fixtures).

mod common;

use common::upres_ok;
use std::path::Path;

#[test]
fn parameter_counts_equal_the_pytorch_references() {
    let reference = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../upres-models/tests/fixtures/param_counts.txt");
    let reference = std::fs::read_to_string(reference).unwrap();
    let table = String::from_utf8(upres_ok(&["models"]).stdout).unwrap();
    let mut checked = 0;
    for line in reference
        .lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
    {
        let [name, scale, count] = line.split_whitespace().collect::<Vec<_>>()[..] else {
            panic!("bad reference line {line}");
        };
        let row = table
            .lines()
            .find(|r| r.split_whitespace().next() == Some(name))
            .unwrap_or_else(|| panic!("{name} missing from `upres models`"));
        assert!(
            row.contains(&format!("x{scale} {count}")),
            "{name} x{scale}: want {count} in {row}"
        );
        checked += 1;
    }
    assert!(checked >= 30, "only {checked} reference counts");
}
