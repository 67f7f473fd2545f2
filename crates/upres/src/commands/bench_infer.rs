use upres_infer::bench::{Engine, forward_times, input_dims, multiply_adds};

#[derive(clap::Args)]
pub struct Args {
    #[command(flatten)]
    arch: super::BenchArchitecture,
    /// Side of the square low-resolution input.
    #[arg(long, default_value_t = 128)]
    size: usize,
    /// Timed runs per engine (after one warm-up run).
    #[arg(long, default_value_t = 10)]
    runs: usize,
    /// Also time burn's forward pass (the reference the fast engine replaces).
    #[arg(long)]
    burn: bool,
    /// Also time the fast engine without Winograd (every convolution direct).
    #[arg(long)]
    direct: bool,
}

pub fn run(args: Args) -> anyhow::Result<()> {
    anyhow::ensure!(args.runs > 0, "--runs must be positive");
    let model = upres_models::build(
        &args.arch.model,
        args.arch.scale,
        &burn::tensor::Device::flex(),
    )?;
    let dims = input_dims(&model, args.size);
    let flop = 2.0 * multiply_adds(&model, dims)? as f64;
    let threads = rayon::current_num_threads();
    let peak = upres_kernels::simd::peak_gflops();
    println!(
        "{} x{} on {}x{}: {:.2} GFLOP per pass; {threads} threads, measured fp32 FMA peak {peak:.1} GFLOP/s",
        args.arch.model,
        args.arch.scale,
        dims[3],
        dims[2],
        flop / 1e9
    );
    let mut engines = vec![Engine::Fast];
    engines.extend(args.direct.then_some(Engine::Direct));
    engines.extend(args.burn.then_some(Engine::Burn));
    for engine in engines {
        let mut times: Vec<f64> = forward_times(&model, engine, dims, args.runs)?
            .iter()
            .map(|t| t.as_secs_f64())
            .collect();
        times.sort_by(f64::total_cmp);
        let median = times[times.len() / 2];
        let gflops = flop / median / 1e9;
        println!(
            "upres {}: median {:.1} ms over {} runs, {gflops:.1} GFLOP/s ({:.0}% of peak)",
            engine.name(),
            median * 1e3,
            args.runs,
            100.0 * gflops / peak
        );
    }
    Ok(())
}
