//! Whole training runs: a run stopped halfway and resumed ends with the same weights as an
//! uninterrupted run, and a mixed-precision run learns as an f32 run does.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};

use burn::module::{Module, ModuleVisitor, Param};
use burn::tensor::{Device, Tensor};
use upres_models::discriminator::{Discriminator, DiscriminatorKind};
use upres_models::perceptual::WEIGHTS_ENV;
use upres_models::weights::Source;
use upres_train::device::Precision;
use upres_train::{Observer, Recipe, RunOptions, Silent, train};

fn datasets() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/datasets")
}

fn recipe() -> Recipe {
    recipe_with("")
}

/// The test recipe with `extra` TOML sections appended.
fn recipe_with(extra: &str) -> Recipe {
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
# Every step's loss is read, and reported to the observer that stops runs, at once.
log_every = 1

[validation]
every = 4
data = ["{set5}"]
{extra}
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
        // Adversarial runs rank checkpoints by LPIPS: the weights `.ci/run` converts.
        weights_dir: Some(
            std::env::var_os(WEIGHTS_ENV)
                .map(PathBuf::from)
                .unwrap_or_else(|| {
                    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tools/weights")
                }),
        ),
        stop,
        device: burn::tensor::Device::flex(),
        precision: Precision::F32,
    }
}

/// Runs seed the backend's global generator: two in one process at once would share it.
static ONE_RUN_AT_A_TIME: Mutex<()> = Mutex::new(());

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

/// The parameters (and U-Net `u` vectors) of a discriminator saved in a checkpoint.
fn discriminator_weights(path: &Path, kind: DiscriminatorKind) -> Vec<f32> {
    let mut discriminator = Discriminator::new(kind, 3, 8, 32, &Device::flex()).unwrap();
    upres_models::weights::load(&mut discriminator, Source::File(path)).unwrap();
    let mut values = Values(Vec::new());
    discriminator.visit(&mut values);
    if let Discriminator::UNet(unet) = &discriminator {
        for conv in unet.down.iter().chain(&unet.up).chain(&unet.extra) {
            values
                .0
                .extend(conv.u.value().into_data().try_to_vec::<f32>().unwrap());
        }
    }
    values.0
}

fn max_difference(a: &[f32], b: &[f32]) -> f32 {
    assert_eq!(a.len(), b.len());
    a.iter()
        .zip(b)
        .map(|(x, y)| (x - y).abs())
        .fold(0.0f32, f32::max)
}

#[test]
fn an_adversarial_run_resumes_with_its_discriminator() {
    let _one = ONE_RUN_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    for (name, kind) in [
        ("vgg", DiscriminatorKind::Vgg),
        ("unet", DiscriminatorKind::UNet),
    ] {
        let mut recipe = recipe_with(&format!(
            "[gan]\nloss = \"relativistic\"\nweight = 0.1\nfeatures = 8\ndiscriminator = \"{name}\"\n"
        ));
        // HR patches of 32, the smallest the VGG-style discriminator judges.
        recipe.data.patch = 16;
        let dir = tempfile::tempdir().unwrap();
        let (whole, split) = (dir.path().join("whole"), dir.path().join("split"));
        train(&recipe, options(&whole, false, Arc::default()), &mut Silent).unwrap();
        let stop = Arc::new(AtomicBool::new(false));
        train(
            &recipe,
            options(&split, false, stop.clone()),
            &mut StopAt(3, stop),
        )
        .unwrap();
        let file = "state/discriminator.safetensors";
        let halfway = discriminator_weights(&split.join(file), kind);
        train(&recipe, options(&split, true, Arc::default()), &mut Silent).unwrap();
        let (a, b) = (
            discriminator_weights(&whole.join(file), kind),
            discriminator_weights(&split.join(file), kind),
        );
        assert!(
            max_difference(&a, &halfway) > 1e-4,
            "{name}: the discriminator trains"
        );
        let worst = max_difference(&a, &b);
        assert!(
            worst < 1e-5,
            "{name}: discriminator weights differ by up to {worst}"
        );
        let worst = max_difference(
            &weights(&whole.join("state/model.safetensors")),
            &weights(&split.join("state/model.safetensors")),
        );
        assert!(
            worst < 1e-5,
            "{name}: generator weights differ by up to {worst}"
        );
    }
}

#[test]
fn half_run_plus_resume_equals_the_whole_run() {
    let _one = ONE_RUN_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
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
        let worst = max_difference(&weights(&whole.join(file)), &weights(&split.join(file)));
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

#[test]
fn a_bf16_run_learns_as_an_f32_run_does() {
    let _one = ONE_RUN_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let mut recipe = recipe();
    recipe.train.iterations = 300;
    recipe.validation.every = 300;
    let dir = tempfile::tempdir().unwrap();
    let mut psnr = Vec::new();
    for precision in [Precision::F32, Precision::Bf16] {
        let mut options = options(
            &dir.path().join(format!("{precision:?}")),
            false,
            Arc::default(),
        );
        options.precision = precision;
        let outcome = train(&recipe, options, &mut Silent).unwrap();
        psnr.push(outcome.best.unwrap().0);
    }
    eprintln!(
        "Set5 x2 after 300 iterations: f32 {:.3} dB, bf16 {:.3} dB",
        psnr[0], psnr[1]
    );
    assert!((psnr[0] - psnr[1]).abs() < 0.3, "{psnr:?}");
}
