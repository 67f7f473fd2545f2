//! A server on a loopback port for the tests, and the test images.

#![allow(dead_code)] // Each test binary uses its own part.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::{Arc, Condvar, Mutex};
use std::time::Duration;
use upres_image::resize::Filter;
use upres_image::{Image, Interpolation, UpscaleError, Upscaler};
use upres_serve::{Catalog, ServeConfig, Service};

pub struct Server {
    pub addr: SocketAddr,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
    pub task: tokio::task::JoinHandle<Result<(), upres_serve::ServeError>>,
}

impl Server {
    pub async fn start(catalog: Catalog, config: ServeConfig) -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let (tx, rx) = tokio::sync::oneshot::channel();
        let service = Service::new(catalog, config);
        let task = tokio::spawn(service.serve(listener, async {
            let _ = rx.await;
        }));
        Self {
            addr,
            shutdown: Some(tx),
            task,
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    /// Asks the server to stop; running requests are still answered.
    pub fn shut_down(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
    }
}

/// Limits small enough to reach in a test.
pub fn config() -> ServeConfig {
    ServeConfig {
        max_jobs: 2,
        queue_limit: 2,
        max_body_bytes: 4 << 20,
        max_pixels: 1 << 20,
        timeout: Duration::from_secs(60),
    }
}

/// The shared datasets beside the repository.
pub fn dataset(path: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../../shared/datasets")
        .join(path)
}

/// A x2 method that holds every job until the test opens it: queue and deadline tests
/// need jobs that run exactly as long as they say.
#[derive(Default)]
pub struct Gate {
    open: Mutex<bool>,
    opened: Condvar,
    entered: Mutex<usize>,
}

impl Gate {
    pub fn open(&self) {
        *self.open.lock().unwrap() = true;
        self.opened.notify_all();
    }

    /// Jobs that reached the method.
    pub fn entered(&self) -> usize {
        *self.entered.lock().unwrap()
    }
}

impl Upscaler for Gate {
    fn name(&self) -> String {
        "gate".into()
    }

    fn upscale(&self, low_res: &Image, scale: usize) -> Result<Image, UpscaleError> {
        *self.entered.lock().unwrap() += 1;
        let mut open = self.open.lock().unwrap();
        while !*open {
            open = self.opened.wait(open).unwrap();
        }
        Interpolation(Filter::Bicubic).upscale(low_res, scale)
    }

    fn receptive_radius(&self) -> Option<usize> {
        Some(2)
    }

    fn fixed_scale(&self) -> Option<usize> {
        Some(2)
    }
}

/// The built-in models plus `gate`.
pub fn catalog_with(gate: &Arc<Gate>) -> Catalog {
    let mut catalog = Catalog::built_in().unwrap();
    catalog.insert("gate", gate.clone()).unwrap();
    catalog
}

/// Polls until `done` holds (at most 10 s).
pub async fn wait_until(mut done: impl FnMut() -> bool) {
    for _ in 0..1000 {
        if done() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("timed out waiting");
}
