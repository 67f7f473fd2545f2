//! upres as an HTTP service: `POST /v1/upscale` takes an image and returns it upscaled,
//! `GET /v1/models` lists what it serves, `GET /metrics` speaks Prometheus, and `/` is a web
//! page for people.
//!
//! Safe to put on a LAN: a bounded job queue answers 503 with `Retry-After` when full, bodies
//! and decoded pixels are limited before any allocation they would cause, every request has a
//! deadline, model names are looked up in the [`Catalog`] (never used as paths), nothing from
//! a request touches the filesystem, and shutdown lets running jobs finish.

mod api;
mod catalog;
mod jobs;
mod metrics;
mod page;

pub use catalog::{Catalog, CatalogError, Entry, MAX_INTERPOLATION_SCALE};

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

/// How the service behaves under load and what it accepts.
#[derive(Clone, Debug)]
pub struct ServeConfig {
    /// Inference jobs run at once.
    pub max_jobs: usize,
    /// Jobs that may wait for a free slot; more get 503.
    pub queue_limit: usize,
    /// Largest request body, in bytes.
    pub max_body_bytes: usize,
    /// Largest input, in pixels, read from the image header before decoding.
    pub max_pixels: u64,
    /// Deadline of one request, from arrival to the encoded result.
    pub timeout: Duration,
}

/// What one job may hold at the largest input: the decoded input, the result at x4 and its
/// encoding, at four f32 channels.
fn job_bytes(max_pixels: u64) -> u64 {
    max_pixels * (1 + 2 * 16) * 16
}

impl ServeConfig {
    /// Defaults sized to this machine: as many concurrent jobs as cores, fewer if the memory
    /// budget holds fewer jobs at the largest input.
    pub fn for_this_machine() -> Self {
        let max_pixels = 4_000_000;
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
        let by_memory = upres_infer::pipeline::memory_budget() / job_bytes(max_pixels);
        let max_jobs = cores.min(by_memory as usize).max(1);
        Self {
            max_jobs,
            queue_limit: 4 * max_jobs,
            max_body_bytes: 50 << 20,
            max_pixels,
            timeout: Duration::from_secs(120),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    #[error(transparent)]
    Catalog(#[from] CatalogError),
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        addr: SocketAddr,
        source: std::io::Error,
    },
    #[error("the server stopped: {0}")]
    Io(#[from] std::io::Error),
}

/// The service: its models, limits, queue and counters.
#[derive(Clone)]
pub struct Service {
    state: Arc<api::State>,
}

impl Service {
    pub fn new(catalog: Catalog, config: ServeConfig) -> Self {
        Self {
            state: Arc::new(api::State::new(catalog, config)),
        }
    }

    /// Every route, with the body limit and request metrics applied.
    pub fn router(&self) -> axum::Router {
        api::router(self.state.clone())
    }

    /// Serves on `listener` until `shutdown` completes, then stops accepting connections and
    /// returns once the requests in flight (running jobs included) have been answered.
    pub async fn serve(
        self,
        listener: tokio::net::TcpListener,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> Result<(), ServeError> {
        axum::serve(listener, self.router())
            .with_graceful_shutdown(shutdown)
            .await?;
        Ok(())
    }
}

/// Runs the service on `addr` until Ctrl-C or SIGTERM, on a runtime of its own; `ready` hears
/// the address it listens on (the port is chosen when `addr`'s is 0).
pub fn run(
    service: Service,
    addr: SocketAddr,
    ready: impl FnOnce(SocketAddr),
) -> Result<(), ServeError> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async move {
        let listener = tokio::net::TcpListener::bind(addr)
            .await
            .map_err(|source| ServeError::Bind { addr, source })?;
        ready(listener.local_addr()?);
        service.serve(listener, shutdown_signal()).await
    })
}

/// Ctrl-C, or SIGTERM where there is one (what service managers send).
async fn shutdown_signal() {
    let ctrl_c = async {
        // Without a handler the process still ends on Ctrl-C, just not gracefully.
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {}
        () = terminate => {}
    }
}
