//! Helpers shared by the CLI tests: the binary, the shared datasets, scratch folders.

#![allow(dead_code)] // each test file uses its own subset

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// `../shared/datasets/<name>` seen from the repository root.
pub fn dataset(name: &str) -> PathBuf {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let path = root.join("../shared/datasets").join(name);
    assert!(
        path.join("HR").is_dir(),
        "dataset {name} not found at {} (the shared datasets live beside the repository)",
        path.display()
    );
    path
}

/// Runs `upres` with `args`.
pub fn upres(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_upres"))
        .args(args)
        .output()
        .expect("spawn upres")
}

/// Runs `upres` and fails the test with its stderr if it does not succeed.
pub fn upres_ok(args: &[&str]) -> Output {
    let out = upres(args);
    assert!(
        out.status.success(),
        "upres {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

pub fn arg(path: &Path) -> &str {
    path.to_str().expect("utf-8 path")
}
