use upres_infer::zoo;

#[derive(clap::Args)]
pub struct Args {
    #[command(subcommand)]
    action: Option<Action>,
}

#[derive(clap::Subcommand)]
enum Action {
    /// Convert a PyTorch checkpoint or an ncnn model to a .upres model file.
    Import(super::import::Args),
}

pub fn run(args: Args) -> anyhow::Result<()> {
    match args.action {
        Some(Action::Import(args)) => super::import::run(args),
        None => list(),
    }
}

fn list() -> anyhow::Result<()> {
    println!(
        "built-in models (-m NAME; the first photo model at a scale is the default, text \
         models are --preset text's)"
    );
    for entry in zoo::ZOO {
        let metadata = entry.metadata()?;
        let field = |key: &str| metadata.get(key).map_or("?", String::as_str);
        println!(
            "  {:<12} x{}  {:<6} {:<10} {}",
            entry.name,
            entry.scale,
            format!("{:?}", entry.domain).to_lowercase(),
            field("upres.model"),
            field(upres_train::META_VALIDATION)
        );
    }
    if let Some(dir) = zoo::model_dir() {
        let mut imported: Vec<String> = std::fs::read_dir(&dir)
            .into_iter()
            .flatten()
            .filter_map(|entry| {
                let path = entry.ok()?.path();
                if path.extension()? != "upres" {
                    return None;
                }
                Some(path.file_stem()?.to_str()?.to_string())
            })
            .collect();
        imported.sort();
        if !imported.is_empty() {
            println!("\nimported models (-m NAME; in {})", dir.display());
            for name in imported {
                let path = dir.join(format!("{name}.upres"));
                let metadata = upres_models::weights::read_safetensors_metadata(&path)?;
                let field = |key: &str| metadata.get(key).map_or("?", String::as_str);
                println!(
                    "  {name:<28} x{}  {:<14} from {}",
                    field("upres.scale"),
                    field("upres.model"),
                    field("upres.imported_from")
                );
            }
        }
    }
    println!();
    let entries = upres_models::entries()?;
    println!(
        "{:<14} {:<12} {:<66} description",
        "model", "scales", "parameters per scale"
    );
    for e in entries {
        let scales = e
            .scales
            .iter()
            .map(|s| format!("x{s}"))
            .collect::<Vec<_>>()
            .join(",");
        let params = e
            .params
            .iter()
            .map(|(s, n)| format!("x{s} {n}"))
            .collect::<Vec<_>>()
            .join(", ");
        println!(
            "{:<14} {:<12} {:<66} {}",
            e.name, scales, params, e.description
        );
    }
    Ok(())
}
