//! A run stopped halfway and resumed ends with the same weights as an uninterrupted run.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use burn::module::{Module, ModuleVisitor, Param};
use burn::tensor::{Device, Tensor};
use upres_train::{Observer, Recipe, RunOptions, Silent, train};

fn datasets() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/datasets")
}

fn recipe() -> Recipe {
    let data = datasets();
    let text = format!(
        r#"
[model]
name = "espcn"
scale = 2

[data]
hr = ["{t91}"]
patch = 12
workers = 2

[optimizer]
lr = 1e-3
grad_clip = 1.0

[schedule]
kind = "cosine"
eta_min = 1e-5
warmup = 2

[train]
iterations = 8
batch = 4
seed = 7
ema = 0.9

[validation]
every = 4
data = ["{set5}"]
"#,
        t91 = data.join("T91/HR").display(),
        set5 = data.join("Set5").display(),
    );
    toml::from_str(&text).unwrap()
}

/// Asks the loop to stop once it reaches an iteration, as Ctrl-C does.
struct StopAt(usize, Arc<AtomicBool>);

impl Observer for StopAt {
    fn stepped(&mut self, iteration: usize, _loss: f32, _lr: f64) {
        if iteration == self.0 {
            self.1.store(true, Ordering::SeqCst);
        }
    }
}

fn options(out: &Path, resume: bool, stop: Arc<AtomicBool>) -> RunOptions {
    RunOptions {
        out: out.to_path_buf(),
        resume,
        init: None,
        teacher: None,
        stop,
    }
}

struct Values(Vec<f32>);

impl ModuleVisitor for Values {
    fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
        self.0
            .extend(param.val().into_data().try_to_vec::<f32>().unwrap());
    }
}

fn weights(path: &Path) -> Vec<f32> {
    let model = upres_models::load(path, &Device::flex()).unwrap();
    let mut values = Values(Vec::new());
    model.network.visit(&mut values);
    values.0
}

#[test]
fn half_run_plus_resume_equals_the_whole_run() {
    let recipe = recipe();
    let dir = tempfile::tempdir().unwrap();
    let (whole, split) = (dir.path().join("whole"), dir.path().join("split"));

    let outcome = train(&recipe, options(&whole, false, Arc::default()), &mut Silent).unwrap();
    assert_eq!(outcome.iterations, 8);
    assert!(!outcome.interrupted);

    let stop = Arc::new(AtomicBool::new(false));
    let outcome = train(
        &recipe,
        options(&split, false, stop.clone()),
        &mut StopAt(3, stop),
    )
    .unwrap();
    assert!(outcome.interrupted);
    assert_eq!(outcome.iterations, 3);
    // A new run refuses a folder that holds one.
    assert!(train(&recipe, options(&split, false, Arc::default()), &mut Silent).is_err());
    let outcome = train(&recipe, options(&split, true, Arc::default()), &mut Silent).unwrap();
    assert_eq!(outcome.iterations, 8);

    for file in [
        "state/model.safetensors",
        "state/ema.safetensors",
        "last.safetensors",
    ] {
        let (a, b) = (weights(&whole.join(file)), weights(&split.join(file)));
        assert_eq!(a.len(), b.len());
        let worst = a
            .iter()
            .zip(&b)
            .map(|(x, y)| (x - y).abs())
            .fold(0.0f32, f32::max);
        assert!(worst < 1e-5, "{file}: weights differ by up to {worst}");
    }
    // The logs read as one run: one validation row per checkpoint of the whole run (4, 8),
    // plus the one the stop at 3 made.
    let log = std::fs::read_to_string(split.join("validation.csv")).unwrap();
    let iterations: Vec<&str> = log
        .lines()
        .skip(1)
        .map(|l| l.split(',').next().unwrap())
        .collect();
    assert_eq!(iterations, ["3", "4", "8"]);
    assert!(split.join("progress.png").is_file());

    // A changed recipe does not resume.
    let mut other = recipe.clone();
    other.train.seed = 8;
    assert!(train(&other, options(&split, true, Arc::default()), &mut Silent).is_err());
}
