//! Every endpoint and every refusal, against a server on a loopback port.

mod common;

use common::{Gate, Server, catalog_with, config, dataset, wait_until};
use reqwest::StatusCode;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;
use upres_image::io::{self, Format, Metadata, ReadOptions, WriteOptions};
use upres_infer::model::{AlphaMode, open_method};
use upres_infer::pipeline::{DEFAULT_TILE, TileSize, UpscaleOptions, upscale_image};
use upres_serve::Catalog;

fn baby_x4() -> Vec<u8> {
    std::fs::read(dataset("Set5/LR_bicubic/X4/babyx4.png")).unwrap()
}

async fn error_of(response: reqwest::Response) -> (StatusCode, String) {
    let status = response.status();
    let body: serde_json::Value = response.json().await.unwrap();
    let line = body["error"].as_str().unwrap().to_string();
    assert!(!line.contains('\n'), "one line: {line}");
    (status, line)
}

fn post_png(client: &reqwest::Client, url: String, body: Vec<u8>) -> reqwest::RequestBuilder {
    client
        .post(url)
        .header("content-type", "image/png")
        .body(body)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn upscales_as_the_library_does_and_lists_what_it_serves() {
    let server = Server::start(Catalog::built_in().unwrap(), config()).await;
    let client = reqwest::Client::new();

    let response = post_png(
        &client,
        server.url("/v1/upscale?model=fsrcnn-x4"),
        baby_x4(),
    )
    .send()
    .await
    .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.headers()["content-type"], "image/png");
    assert_eq!(response.headers()["x-upres-model"], "fsrcnn-x4");
    assert_eq!(response.headers()["x-upres-width"], "512");
    let body = response.bytes().await.unwrap();
    let served = io::decode(&body, Path::new("served.png"), ReadOptions::default()).unwrap();

    // The same pixels as upscaling in-process with the same model.
    let input = io::decode(&baby_x4(), Path::new("baby"), ReadOptions::default()).unwrap();
    let method = open_method("fsrcnn-x4", AlphaMode::Model).unwrap();
    let options = UpscaleOptions {
        scale: 4,
        tile: TileSize::Fixed(DEFAULT_TILE),
        tta: false,
        write: WriteOptions::default(),
        read: ReadOptions::default(),
    };
    let expected = upscale_image(
        &input.image,
        "baby",
        method.as_ref(),
        &options,
        &mut |_, _| {},
        &|| false,
    )
    .unwrap();
    let expected = io::encode(&expected, &Metadata::default(), Format::Png, 95).unwrap();
    let expected = io::decode(&expected, Path::new("e.png"), ReadOptions::default()).unwrap();
    assert_eq!((served.image.width(), served.image.height()), (512, 512));
    assert_eq!(served.image.data(), expected.image.data());

    // Without a model: the default at the scale.
    let response = post_png(&client, server.url("/v1/upscale?scale=3"), baby_x4())
        .send()
        .await
        .unwrap();
    assert_eq!(response.headers()["x-upres-model"], "fsrcnn-x3");

    // A form, with the parameters as fields, asking for JPEG.
    let form = reqwest::multipart::Form::new()
        .text("model", "bicubic")
        .text("scale", "2")
        .text("format", "jpg")
        .part(
            "image",
            reqwest::multipart::Part::bytes(baby_x4()).file_name("baby.png"),
        );
    let response = client
        .post(server.url("/v1/upscale"))
        .multipart(form)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.headers()["content-type"], "image/jpeg");
    let jpeg = response.bytes().await.unwrap();
    let decoded = io::decode(&jpeg, Path::new("x.jpg"), ReadOptions::default()).unwrap();
    assert_eq!(decoded.format, Format::Jpeg);
    assert_eq!((decoded.image.width(), decoded.image.height()), (256, 256));

    let models: serde_json::Value = client
        .get(server.url("/v1/models"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let fsrcnn = models["models"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["name"] == "fsrcnn-x4")
        .unwrap();
    assert_eq!(fsrcnn["scales"], serde_json::json!([4]));
    assert_eq!(fsrcnn["default_for"], serde_json::json!([4]));
    assert_eq!(fsrcnn["kind"], "model");
    assert_eq!(models["max_pixels"], 1 << 20);

    let health = client.get(server.url("/healthz")).send().await.unwrap();
    assert_eq!(health.status(), StatusCode::OK);

    let page = client.get(server.url("/")).send().await.unwrap();
    assert!(
        page.headers()["content-security-policy"]
            .to_str()
            .unwrap()
            .contains("default-src 'self'")
    );
    assert!(page.text().await.unwrap().contains("id=\"file-input\""));
    for asset in ["/app.js", "/style.css"] {
        let response = client.get(server.url(asset)).send().await.unwrap();
        assert_eq!(response.status(), StatusCode::OK, "{asset}");
    }

    let metrics = client
        .get(server.url("/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    for line in [
        "upres_http_requests_total{route=\"/v1/upscale\",status=\"200\"} 3",
        "upres_http_request_duration_seconds_count{route=\"/v1/upscale\"} 3",
        "upres_jobs_queued 0",
        "upres_jobs_running 0",
    ] {
        assert!(metrics.contains(line), "{line} missing from\n{metrics}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_requests_get_their_status_and_one_line() {
    let mut limits = config();
    limits.max_pixels = 100 * 100;
    limits.max_body_bytes = 64 << 10;
    let server = Server::start(Catalog::built_in().unwrap(), limits).await;
    let client = reqwest::Client::new();
    let upscale = |query: &str| server.url(&format!("/v1/upscale{query}"));
    let small = std::fs::read(dataset("Set5/LR_bicubic/X4/birdx4.png")).unwrap(); // 72x72

    let cases: Vec<(reqwest::RequestBuilder, StatusCode, &str)> = vec![
        (
            client
                .post(upscale(""))
                .header("content-type", "text/plain")
                .body(small.clone()),
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "is not an image",
        ),
        (
            post_png(&client, upscale(""), b"GIF89a not what it says".to_vec()),
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "not a PNG, JPEG, WebP, TIFF or BMP",
        ),
        (
            post_png(&client, upscale(""), small[..small.len() / 2].to_vec()),
            StatusCode::UNPROCESSABLE_ENTITY,
            "upload: unexpected end of file",
        ),
        (
            post_png(&client, upscale(""), baby_x4()),
            StatusCode::PAYLOAD_TOO_LARGE,
            "128x128 is more than the allowed 10000 pixels",
        ),
        (
            post_png(&client, upscale(""), vec![0x89; 100 << 10]),
            StatusCode::PAYLOAD_TOO_LARGE,
            "larger than the allowed 65536 bytes",
        ),
        (
            post_png(&client, upscale("?model=../../etc/passwd"), small.clone()),
            StatusCode::BAD_REQUEST,
            "unknown model '../../etc/passwd'",
        ),
        (
            post_png(&client, upscale("?model=fsrcnn-x3&scale=2"), small.clone()),
            StatusCode::BAD_REQUEST,
            "fsrcnn-x3 does not upscale x2",
        ),
        (
            post_png(&client, upscale("?scal=2"), small.clone()),
            StatusCode::BAD_REQUEST,
            "unknown parameter 'scal'",
        ),
        (
            post_png(&client, upscale("?scale=0"), small.clone()),
            StatusCode::BAD_REQUEST,
            "scale '0'",
        ),
        (
            post_png(&client, upscale("?format=gif"), small.clone()),
            StatusCode::BAD_REQUEST,
            "unknown image format 'gif'",
        ),
        (
            post_png(&client, upscale("?scale=8&model=bicubic"), small.clone()),
            StatusCode::PAYLOAD_TOO_LARGE,
            "more than the allowed 160000",
        ),
        (
            post_png(&client, upscale(""), Vec::new()),
            StatusCode::BAD_REQUEST,
            "the body is empty",
        ),
        (
            client
                .post(upscale(""))
                .multipart(reqwest::multipart::Form::new().text("scale", "2")),
            StatusCode::BAD_REQUEST,
            "no field 'image'",
        ),
        (
            client.get(server.url("/v1/progress/..%2Fetc")),
            StatusCode::BAD_REQUEST,
            "a job id is",
        ),
        (
            client.get(server.url("/no/such/page")),
            StatusCode::NOT_FOUND,
            "no such page",
        ),
    ];
    for (request, status, says) in cases {
        let (got, line) = error_of(request.send().await.unwrap()).await;
        assert_eq!(got, status, "{line}");
        assert!(line.contains(says), "'{line}' should say '{says}'");
    }
    let wrong_method = client.get(upscale("")).send().await.unwrap();
    assert_eq!(wrong_method.status(), StatusCode::METHOD_NOT_ALLOWED);

    let metrics = client
        .get(server.url("/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    for line in [
        "upres_errors_total{reason=\"too_many_pixels\"} 2",
        "upres_errors_total{reason=\"body_too_large\"} 1",
        "upres_errors_total{reason=\"corrupt_image\"} 1",
        "upres_errors_total{reason=\"unsupported_media\"} 2",
    ] {
        assert!(metrics.contains(line), "{line} missing from\n{metrics}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_queue_answers_503_with_retry_after() {
    let gate = Arc::new(Gate::default());
    let mut limits = config();
    limits.max_jobs = 1;
    limits.queue_limit = 1;
    let server = Server::start(catalog_with(&gate), limits).await;
    let client = reqwest::Client::new();
    let small = std::fs::read(dataset("Set5/LR_bicubic/X4/birdx4.png")).unwrap();

    let send = |job: &str| {
        post_png(
            &client,
            server.url(&format!("/v1/upscale?model=gate&job={job}")),
            small.clone(),
        )
        .send()
    };
    let running = tokio::spawn(send("job-running"));
    wait_until(|| gate.entered() == 1).await;
    let waiting = tokio::spawn(send("job-waiting"));
    let progress = |id: &str| {
        let url = server.url(&format!("/v1/progress/{id}"));
        let client = client.clone();
        async move {
            let body: serde_json::Value =
                client.get(url).send().await.unwrap().json().await.unwrap();
            body["state"].as_str().unwrap().to_string()
        }
    };
    for _ in 0..500 {
        if progress("job-waiting").await == "queued" {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert_eq!(progress("job-running").await, "running");
    assert_eq!(progress("job-waiting").await, "queued");

    let refused = send("job-refused").await.unwrap();
    let retry_after: u64 = refused.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!(retry_after >= 1);
    let (status, line) = error_of(refused).await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
    assert!(line.contains("queue is full"), "{line}");
    let metrics = client
        .get(server.url("/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(metrics.contains("upres_jobs_queued 1"), "{metrics}");
    assert!(metrics.contains("upres_jobs_running 1"), "{metrics}");

    gate.open();
    for job in [running, waiting] {
        let response = job.await.unwrap().unwrap();
        assert_eq!(response.status(), StatusCode::OK);
        assert_eq!(response.headers()["x-upres-width"], "144");
    }
    let done: serde_json::Value = client
        .get(server.url("/v1/progress/job-waiting"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(done["state"], "done");
    assert!(done["total"].as_u64().unwrap() >= 1);
    assert_eq!(done["done"], done["total"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_job_past_its_deadline_gets_504() {
    let gate = Arc::new(Gate::default());
    let mut limits = config();
    limits.timeout = Duration::from_millis(300);
    let server = Server::start(catalog_with(&gate), limits).await;
    let client = reqwest::Client::new();
    let small = std::fs::read(dataset("Set5/LR_bicubic/X4/birdx4.png")).unwrap();
    let response = post_png(&client, server.url("/v1/upscale?model=gate"), small)
        .send()
        .await
        .unwrap();
    let (status, line) = error_of(response).await;
    assert_eq!(status, StatusCode::GATEWAY_TIMEOUT);
    assert!(line.contains("longer than 0.3 s"), "{line}");
    gate.open();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_finishes_running_jobs_then_stops() {
    let gate = Arc::new(Gate::default());
    let mut server = Server::start(catalog_with(&gate), config()).await;
    let client = reqwest::Client::new();
    let small = std::fs::read(dataset("Set5/LR_bicubic/X4/birdx4.png")).unwrap();
    let running =
        tokio::spawn(post_png(&client, server.url("/v1/upscale?model=gate"), small).send());
    wait_until(|| gate.entered() == 1).await;
    server.shut_down();
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert!(!server.task.is_finished(), "a job is still running");
    gate.open();
    let response = running.await.unwrap().unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    response.bytes().await.unwrap();
    tokio::time::timeout(Duration::from_secs(10), &mut server.task)
        .await
        .expect("the server stops once its jobs are done")
        .unwrap()
        .unwrap();
    assert!(
        reqwest::Client::new()
            .get(server.url("/healthz"))
            .send()
            .await
            .is_err(),
        "nothing listens any more"
    );
}
