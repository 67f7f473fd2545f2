use std::net::SocketAddr;
use std::time::Duration;
use upres_serve::{Catalog, ServeConfig, Service};

#[derive(clap::Args)]
pub struct Args {
    /// Address to listen on; use 0.0.0.0:PORT to serve the LAN.
    #[arg(long, default_value = "127.0.0.1:8080")]
    addr: SocketAddr,
    /// Models to serve (comma-separated built-in names, interpolations, model files or
    /// training runs; files are served under their file name). Default: every built-in model,
    /// bicubic and lanczos3.
    #[arg(short, long, value_delimiter = ',')]
    models: Vec<String>,
    /// Inference jobs run at once (default: from cores and memory).
    #[arg(short, long)]
    jobs: Option<usize>,
    /// Jobs that may wait for a slot; beyond that requests get 503 (default: 4 per slot).
    #[arg(long)]
    queue: Option<usize>,
    /// Largest request body, in MiB.
    #[arg(long)]
    max_body_mib: Option<usize>,
    /// Largest input, in pixels (checked from the header before decoding).
    #[arg(long)]
    max_pixels: Option<u64>,
    /// Deadline of one request, in seconds.
    #[arg(long)]
    timeout: Option<u64>,
}

pub fn run(args: Args) -> anyhow::Result<()> {
    let catalog = if args.models.is_empty() {
        Catalog::built_in()?
    } else {
        Catalog::open(args.models.iter().map(String::as_str))?
    };
    let mut config = ServeConfig::for_this_machine();
    if let Some(jobs) = args.jobs {
        anyhow::ensure!(jobs >= 1, "--jobs must be at least 1");
        config.max_jobs = jobs;
        config.queue_limit = 4 * jobs;
    }
    if let Some(queue) = args.queue {
        config.queue_limit = queue;
    }
    if let Some(mib) = args.max_body_mib {
        config.max_body_bytes = mib << 20;
    }
    if let Some(pixels) = args.max_pixels {
        config.max_pixels = pixels;
    }
    if let Some(seconds) = args.timeout {
        config.timeout = Duration::from_secs(seconds);
    }
    let summary = format!(
        "{} models, {} jobs at once, {} waiting",
        catalog.iter().count(),
        config.max_jobs,
        config.queue_limit
    );
    upres_serve::run(Service::new(catalog, config), args.addr, |addr| {
        eprintln!("upres: serving on http://{addr}/ ({summary}); Ctrl-C stops");
    })?;
    Ok(())
}
