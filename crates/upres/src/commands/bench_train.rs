use upres_train::bench::step_times;
use upres_train::device::Precision;

#[derive(clap::Args)]
pub struct Args {
    #[command(flatten)]
    arch: super::BenchArchitecture,
    #[arg(long, default_value_t = 16)]
    batch: usize,
    /// LR patch side.
    #[arg(long, default_value_t = 48)]
    patch: usize,
    /// Timed steps (after one warm-up step).
    #[arg(long, default_value_t = 5)]
    steps: usize,
    /// Where to train (see `upres train --device`).
    #[arg(long, default_value = "flex")]
    device: String,
    /// f32, or bf16 mixed precision (see `upres train --precision`).
    #[arg(long, default_value = "f32")]
    precision: Precision,
}

pub fn run(args: Args) -> anyhow::Result<()> {
    anyhow::ensure!(args.steps > 0, "--steps must be positive");
    let device = upres_train::device::training_device(&args.device)?;
    let mut times: Vec<f64> = step_times(
        &device,
        args.precision,
        &args.arch.model,
        args.arch.scale,
        args.batch,
        args.patch,
        args.steps,
    )?
    .iter()
    .map(|t| t.as_secs_f64())
    .collect();
    times.sort_by(f64::total_cmp);
    let median = times[times.len() / 2];
    println!(
        "upres (burn {}, {}) {} x{} batch {} patch {}: median {median:.3} s/step ({:.3} it/s) over {} steps",
        args.device,
        args.precision,
        args.arch.model,
        args.arch.scale,
        args.batch,
        args.patch,
        1.0 / median,
        args.steps
    );
    Ok(())
}
