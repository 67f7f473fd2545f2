//! `upres serve` under load, as a separate process: 200 requests from 16 concurrent clients
//! on loopback. Every request must be answered with the image or with 503 and Retry-After,
//! nothing else, and the server must stop cleanly on SIGTERM. Prints the latency percentiles
//! and the server's peak memory (BENCHMARKS.md records them from a release build:
//! `cargo test --release -p upres --test serve_load -- --nocapture`).

mod common;

use common::dataset;
use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const REQUESTS: usize = 200;
const CLIENTS: usize = 16;

/// One answered request.
struct Answer {
    status: u16,
    retry_after: bool,
    millis: f64,
    bytes: usize,
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    sorted[((sorted.len() - 1) as f64 * p).round() as usize]
}

/// The process's peak resident memory (Linux `VmHWM`), in MiB.
fn peak_mib(pid: u32) -> Option<f64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kib: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib / 1024.0)
}

#[test]
fn every_request_under_load_gets_the_image_or_a_retry_after() {
    let mut server = Command::new(env!("CARGO_BIN_EXE_upres"))
        .args([
            "serve",
            "--addr",
            "127.0.0.1:0",
            "--models",
            "fsrcnn-x2,bicubic",
            "--jobs",
            "2",
            "--queue",
            "6",
        ])
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn upres serve");
    let mut banner = String::new();
    BufReader::new(server.stderr.take().unwrap())
        .read_line(&mut banner)
        .unwrap();
    let base = banner
        .split_whitespace()
        .find(|w| w.starts_with("http://"))
        .unwrap_or_else(|| panic!("no address in '{banner}'"))
        .trim_end_matches('/')
        .to_string();

    let image = std::fs::read(dataset("Set5").join("LR_bicubic/X2/babyx2.png")).unwrap();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let started = Instant::now();
    let answers: Vec<Answer> = runtime.block_on(async {
        let client = reqwest::Client::builder()
            .timeout(Duration::from_secs(300))
            .build()
            .unwrap();
        let url = format!("{base}/v1/upscale?model=fsrcnn-x2");
        let clients = (0..CLIENTS).map(|c| {
            let (client, url, image) = (client.clone(), url.clone(), image.clone());
            tokio::spawn(async move {
                let mut answers = Vec::new();
                for _ in (c..REQUESTS).step_by(CLIENTS) {
                    let sent = Instant::now();
                    let response = client
                        .post(&url)
                        .header("content-type", "image/png")
                        .body(image.clone())
                        .send()
                        .await
                        .expect("every request is answered");
                    let status = response.status().as_u16();
                    let retry_after = response.headers().contains_key("retry-after");
                    let bytes = response.bytes().await.unwrap().len();
                    answers.push(Answer {
                        status,
                        retry_after,
                        millis: sent.elapsed().as_secs_f64() * 1000.0,
                        bytes,
                    });
                }
                answers
            })
        });
        let mut all = Vec::new();
        for handle in clients.collect::<Vec<_>>() {
            all.extend(handle.await.unwrap());
        }
        all
    });
    let wall = started.elapsed().as_secs_f64();
    let peak = peak_mib(server.id());
    let term = Command::new("kill")
        .args(["-TERM", &server.id().to_string()])
        .status()
        .unwrap();
    assert!(term.success());
    let exit = server.wait().unwrap();

    assert_eq!(answers.len(), REQUESTS);
    for a in &answers {
        assert!(
            a.status == 200 || (a.status == 503 && a.retry_after),
            "status {} (Retry-After: {})",
            a.status,
            a.retry_after
        );
    }
    let ok: Vec<&Answer> = answers.iter().filter(|a| a.status == 200).collect();
    assert!(
        ok.len() >= 8,
        "two running and six waiting are always served"
    );
    assert!(ok.iter().all(|a| a.bytes > 100_000), "a 512x512 PNG each");
    assert!(exit.success(), "SIGTERM stops the server cleanly: {exit}");

    let mut ok_ms: Vec<f64> = ok.iter().map(|a| a.millis).collect();
    let mut all_ms: Vec<f64> = answers.iter().map(|a| a.millis).collect();
    ok_ms.sort_by(f64::total_cmp);
    all_ms.sort_by(f64::total_cmp);
    println!(
        "load: {REQUESTS} requests from {CLIENTS} clients in {wall:.1} s: {} images, {} busy (503); \
         images p50 {:.0} ms p99 {:.0} ms; all p50 {:.0} ms p99 {:.0} ms; server peak RSS {} MiB",
        ok.len(),
        REQUESTS - ok.len(),
        percentile(&ok_ms, 0.5),
        percentile(&ok_ms, 0.99),
        percentile(&all_ms, 0.5),
        percentile(&all_ms, 0.99),
        peak.map_or("?".into(), |p| format!("{p:.0}")),
    );
    if let Some(peak) = peak {
        assert!(
            peak < 1024.0,
            "the bounded queue keeps memory bounded: {peak} MiB"
        );
    }
}
