use std::path::PathBuf;

use indicatif::{ProgressBar, ProgressStyle};
use upres_infer::model::{load_model, weights_file};
use upres_metrics::DatasetScores;
use upres_train::device::Precision;
use upres_train::{Observer, Recipe, RunOptions, Teacher};

#[derive(clap::Args)]
pub struct Args {
    /// The recipe (TOML; see configs/).
    recipe: PathBuf,
    /// Folder for checkpoints and logs [default: runs/<recipe name>].
    #[arg(short, long)]
    out: Option<PathBuf>,
    /// Continue the run saved in the output folder.
    #[arg(long)]
    resume: bool,
    /// Start from these weights (a weights file or run folder of the same architecture; the
    /// scale may differ where the shapes agree, as FSRCNN's do) instead of random ones.
    #[arg(long, conflicts_with = "resume")]
    init: Option<PathBuf>,
    /// Override the recipe's seed.
    #[arg(long)]
    seed: Option<u64>,
    /// Override the recipe's number of iterations.
    #[arg(long)]
    iterations: Option<usize>,
    /// Distil from this trained model (a weights file or run folder): adds the L1 distance
    /// between the student's and the teacher's outputs to the loss.
    #[arg(long)]
    teacher: Option<PathBuf>,
    /// Weight of the distillation term.
    #[arg(long, default_value_t = 1.0, requires = "teacher")]
    teacher_weight: f32,
    /// Folder of the converted ImageNet weights a perceptual loss needs (default:
    /// $UPRES_WEIGHTS_DIR, else ~/.local/share/upres/weights).
    #[arg(long)]
    weights_dir: Option<PathBuf>,
    /// Where to train: flex (the CPU backend), or with a build that has the feature, tch
    /// (LibTorch on the CPU), tch-cuda[:N] (LibTorch on CUDA GPU N), wgpu.
    #[arg(long, default_value = "flex")]
    device: String,
    /// What the training step computes in: f32, or bf16 (mixed precision: bf16 convolutions,
    /// f32 weights; pays off on a GPU with `--device tch-cuda`).
    #[arg(long, default_value = "f32")]
    precision: Precision,
}

pub fn run(args: Args) -> anyhow::Result<()> {
    let mut recipe = Recipe::load(&args.recipe)?;
    if let Some(seed) = args.seed {
        recipe.train.seed = seed;
    }
    if let Some(iterations) = args.iterations {
        anyhow::ensure!(iterations > 0, "--iterations must be positive");
        recipe.train.iterations = iterations;
    }
    let out = args.out.unwrap_or_else(|| {
        let stem = args.recipe.file_stem().unwrap_or_default();
        PathBuf::from("runs").join(stem)
    });
    let teacher = args
        .teacher
        .map(|path| -> anyhow::Result<Teacher> {
            let model = load_model(&path, &burn::tensor::Device::flex())
                .map_err(|e| anyhow::anyhow!("teacher {}: {e}", path.display()))?;
            Ok(Teacher {
                model,
                weight: args.teacher_weight,
            })
        })
        .transpose()?;

    let device = upres_train::device::training_device(&args.device)?;
    let stop = super::stop_on_ctrl_c()?;

    let mut bar = Bar::new();
    let outcome = upres_train::train(
        &recipe,
        RunOptions {
            out: out.clone(),
            resume: args.resume,
            init: args
                .init
                .as_deref()
                .map(weights_file)
                .transpose()
                .map_err(|e| anyhow::anyhow!("{e}"))?,
            teacher,
            weights_dir: args.weights_dir,
            stop,
            device,
            precision: args.precision,
        },
        &mut bar,
    )?;
    bar.0.finish_and_clear();
    let best = match outcome.best {
        Some((psnr, iteration)) => format!("; best {psnr:.3} dB at iteration {iteration}"),
        None => String::new(),
    };
    let state = if outcome.interrupted {
        "stopped"
    } else {
        "finished"
    };
    println!(
        "{state} at iteration {} of {}{best}; run folder {}",
        outcome.iterations,
        recipe.train.iterations,
        out.display()
    );
    Ok(())
}

struct Bar(ProgressBar);

impl Bar {
    fn new() -> Self {
        let bar = ProgressBar::new(0).with_style(
            ProgressStyle::with_template(
                "{bar:30} {pos}/{len} it {per_sec} {msg} [{elapsed} < {eta}]",
            )
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
        );
        Self(bar)
    }
}

impl Observer for Bar {
    fn started(&mut self, start: usize, total: usize) {
        self.0.set_length(total as u64);
        self.0.set_position(start as u64);
        self.0.reset_eta();
    }

    fn stepped(&mut self, iteration: usize, loss: f32, lr: f64) {
        self.0.set_position(iteration as u64);
        if iteration.is_multiple_of(10) {
            self.0.set_message(format!("loss {loss:.5} lr {lr:.2e}"));
        }
    }

    fn validated(&mut self, iteration: usize, scores: &[DatasetScores], best: bool) {
        let line = scores
            .iter()
            .map(|s| format!("{} {:.3} dB / {:.4}", s.dataset, s.mean.psnr, s.mean.ssim))
            .collect::<Vec<_>>()
            .join(", ");
        let mark = if best { " (best)" } else { "" };
        self.0
            .println(format!("iteration {iteration}: {line}{mark}"));
    }
}
