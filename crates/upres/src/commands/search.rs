use std::path::PathBuf;

use upres_train::Recipe;
use upres_train::search::{SearchOptions, SearchSpace, search, table, winner, write_results};

#[derive(clap::Args)]
pub struct Args {
    /// The recipe every candidate trains with (TOML, an EDSR model; see
    /// configs/search_x2.toml).
    recipe: PathBuf,
    /// Latency budget: milliseconds per output megapixel on this CPU.
    #[arg(long)]
    budget: f64,
    /// Residual block counts to try.
    #[arg(long, value_delimiter = ',', default_values_t = [0, 2, 4, 8])]
    blocks: Vec<usize>,
    /// Feature channel counts to try.
    #[arg(long, value_delimiter = ',', default_values_t = [16, 32, 64])]
    features: Vec<usize>,
    /// Upsamplers to try: `edsr` (x2 stages and a tail) and `sub-pixel` (ESPCN's one layer).
    #[arg(long, value_delimiter = ',', default_values_t = [String::from("edsr"), String::from("sub-pixel")])]
    upsamplers: Vec<String>,
    /// Side of the square low-resolution input that latency is measured on.
    #[arg(long, default_value_t = 128)]
    latency_size: usize,
    /// Timed forward passes per candidate.
    #[arg(long, default_value_t = 5)]
    runs: usize,
    /// Folder for the candidates' runs and the results [default: runs/search-<recipe name>].
    #[arg(short, long)]
    out: Option<PathBuf>,
}

pub fn run(args: Args) -> anyhow::Result<()> {
    anyhow::ensure!(
        args.budget.is_finite() && args.budget > 0.0,
        "--budget must be a positive number of milliseconds per megapixel"
    );
    anyhow::ensure!(
        args.runs > 0 && args.latency_size > 0,
        "--runs and --latency-size must be positive"
    );
    let recipe = Recipe::load(&args.recipe)?;
    anyhow::ensure!(
        matches!(recipe.model.name.as_str(), "edsr-baseline" | "edsr"),
        "{}: the search varies an EDSR model, not {}",
        args.recipe.display(),
        recipe.model.name
    );
    let sub_pixel = args
        .upsamplers
        .iter()
        .map(|name| match name.as_str() {
            "edsr" => Ok(false),
            "sub-pixel" => Ok(true),
            other => anyhow::bail!("upsampler `{other}`: use edsr or sub-pixel"),
        })
        .collect::<anyhow::Result<Vec<_>>>()?;
    anyhow::ensure!(
        args.features.iter().all(|&f| f > 0),
        "--features must be positive"
    );
    let out = args.out.unwrap_or_else(|| {
        let stem = args
            .recipe
            .file_stem()
            .unwrap_or_default()
            .to_string_lossy();
        PathBuf::from("runs").join(format!("search-{stem}"))
    });
    let options = SearchOptions {
        recipe,
        space: SearchSpace {
            blocks: args.blocks,
            features: args.features,
            sub_pixel,
        },
        budget: args.budget,
        latency_side: args.latency_size,
        latency_runs: args.runs,
        out: out.clone(),
        stop: super::stop_on_ctrl_c()?,
    };
    println!(
        "timing {} candidates on {}x{} inputs ({} threads)",
        options.space.variants().len(),
        args.latency_size,
        args.latency_size,
        rayon::current_num_threads()
    );
    let candidates = search(&options, &mut |line| println!("{line}"))?;
    write_results(&candidates, args.budget, &out)?;
    println!("\n{}", table(&candidates, args.budget));
    if let Some(best) = winner(&candidates) {
        let run = best.run.as_ref().expect("a trained candidate has a run");
        let file = out.join("winner.upres");
        upres_train::export_run(run, &file)?;
        println!(
            "winner within {} ms/MP: {} ({} parameters), {:.1} ms/MP, {:.3} dB; wrote {}",
            args.budget,
            best.label(),
            best.parameters,
            best.ms_per_megapixel,
            best.psnr.unwrap_or(f64::NAN),
            file.display()
        );
    }
    println!(
        "wrote {}, {} and {}",
        out.join("search.md").display(),
        out.join("search.csv").display(),
        out.join("pareto.png").display()
    );
    Ok(())
}
