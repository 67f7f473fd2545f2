use upres_image::{Depth, Image, Layout};
use upres_infer::bench::{Engine, ForwardTimer, input_dims, multiply_adds};
use upres_infer::int8::{RangeMethod, WeightRounding, quantize};
use upres_infer::model::find_model;
use upres_models::{ColorSpace, SrModel};

#[derive(clap::Args)]
pub struct Args {
    #[command(flatten)]
    arch: super::BenchArchitecture,
    /// Time this trained model instead (a model file, an ncnn `.param`, a built-in or
    /// imported name); `--model` and `--scale` are then ignored.
    #[arg(long)]
    weights: Option<String>,
    /// The low-resolution input: `N` (square) or `WxH`.
    #[arg(long, default_value = "128", value_parser = parse_size)]
    size: (usize, usize),
    /// Timed runs per engine (after one warm-up run), the engines taking turns.
    #[arg(long, default_value_t = 10)]
    runs: usize,
    /// Also time burn's forward pass (the reference the fast engine replaces).
    #[arg(long)]
    burn: bool,
    /// Also time the fast engine without Winograd (every convolution direct).
    #[arg(long)]
    direct: bool,
    /// Also time the INT8 engine, the model quantized as `upres quantize` does (ranges
    /// calibrated on the timing input: speed does not depend on them).
    #[arg(long)]
    int8: bool,
}

pub fn run(args: Args) -> anyhow::Result<()> {
    anyhow::ensure!(args.runs > 0, "--runs must be positive");
    let device = burn::tensor::Device::flex();
    let mut model = match &args.weights {
        Some(name) => find_model(name, &device)
            .map_err(|e| anyhow::anyhow!("{e}"))?
            .ok_or_else(|| anyhow::anyhow!("{name}: no such model file or name"))?,
        None => upres_models::build(&args.arch.model, args.arch.scale, &device)?,
    };
    let (width, height) = args.size;
    let dims = input_dims(&model, width, height);
    if args.int8 {
        // Speed only: the ranges and the rounding leave the work unchanged.
        model = quantize(
            &model,
            &[timing_image(&model, width, height)?],
            RangeMethod::MinMax,
            WeightRounding::Nearest,
        )
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    }
    let flop = 2.0 * multiply_adds(&model, dims)? as f64;
    let threads = rayon::current_num_threads();
    let peak = upres_kernels::simd::peak_gflops();
    println!(
        "{} x{} on {}x{}: {:.2} GFLOP per pass; {threads} threads, measured fp32 FMA peak {peak:.1} GFLOP/s",
        model.label(),
        model.scale(),
        dims[3],
        dims[2],
        flop / 1e9
    );
    let mut engines = vec![Engine::Fast];
    engines.extend(args.direct.then_some(Engine::Direct));
    engines.extend(args.int8.then_some(Engine::Int8));
    engines.extend(args.burn.then_some(Engine::Burn));
    // Engines take turns, one pass each, so that a drift in the machine's speed affects them
    // alike.
    let timers = engines
        .iter()
        .map(|&engine| ForwardTimer::new(&model, engine, dims))
        .collect::<Result<Vec<_>, _>>()?;
    let mut times = vec![Vec::with_capacity(args.runs); timers.len()];
    for _ in 0..args.runs {
        for (timer, times) in timers.iter().zip(&mut times) {
            times.push(timer.time()?.as_secs_f64());
        }
    }
    let mut first = None;
    for (engine, mut times) in engines.into_iter().zip(times) {
        times.sort_by(f64::total_cmp);
        let median = times[times.len() / 2];
        let gflops = flop / median / 1e9;
        let reference = *first.get_or_insert(median);
        println!(
            "upres {}: median {:.1} ms over {} runs, {gflops:.1} GFLOP/s ({:.0}% of peak), {:.2}x the speed of fast",
            engine.name(),
            median * 1e3,
            args.runs,
            100.0 * gflops / peak,
            reference / median
        );
    }
    Ok(())
}

/// `N` or `WxH`.
fn parse_size(text: &str) -> Result<(usize, usize), String> {
    let side = |s: &str| s.parse::<usize>().ok().filter(|&n| n > 0);
    match text.split_once('x') {
        Some((w, h)) => side(w).zip(side(h)),
        None => side(text).map(|n| (n, n)),
    }
    .ok_or_else(|| format!("`{text}` is not N or WxH"))
}

/// A `width x height` image of the values the timed passes run on.
fn timing_image(model: &SrModel, width: usize, height: usize) -> anyhow::Result<Image> {
    let layout = match model.color() {
        ColorSpace::Rgb => Layout::Rgb,
        ColorSpace::Luma => Layout::Gray,
    };
    let values = (0..width * height * layout.channels())
        .map(|i| ((i * 7919) % 1000) as f32 / 1000.0 * 255.0)
        .collect();
    Ok(Image::new(width, height, layout, Depth::U8, values)?)
}
