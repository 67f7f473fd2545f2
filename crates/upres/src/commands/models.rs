use upres_infer::zoo;

#[derive(clap::Args)]
pub struct Args {}

pub fn run(_args: Args) -> anyhow::Result<()> {
    println!("built-in models (-m NAME; the first at a scale is the default)");
    for entry in zoo::ZOO {
        let metadata = entry.metadata()?;
        let field = |key: &str| metadata.get(key).map_or("?", String::as_str);
        println!(
            "  {:<12} x{}  {:<10} {}",
            entry.name,
            entry.scale,
            field("upres.model"),
            field(upres_train::META_VALIDATION)
        );
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
