#[derive(clap::Args)]
pub struct Args {}

pub fn run(_args: Args) -> anyhow::Result<()> {
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
