use std::path::PathBuf;

#[derive(clap::Args)]
pub struct Args {
    /// A training run's folder.
    run: PathBuf,
    /// The model file to write (`.upres`).
    #[arg(short, long)]
    output: PathBuf,
}

pub fn run(args: Args) -> anyhow::Result<()> {
    anyhow::ensure!(
        args.output.extension().is_some_and(|e| e == "upres"),
        "{}: the only export format so far is a .upres model file",
        args.output.display()
    );
    upres_train::export_run(&args.run, &args.output)?;
    println!("wrote {}", args.output.display());
    Ok(())
}
