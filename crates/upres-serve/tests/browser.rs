//! The page in a real browser: Chromium, driven through ChromeDriver, uploads a Set5 image,
//! waits for the result, checks its size, moves the comparison slider and saves a
//! screenshot.
//!
//! Needs Debian's `chromium` and `chromium-driver` (`.ci/run` installs them). Without them
//! the test says so and passes, unless `UPRES_REQUIRE_TOOLS` is set, as CI sets it.

mod common;

use common::{Server, config, dataset};
use fantoccini::key::Key;
use fantoccini::{Client, ClientBuilder, Locator};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::Duration;
use upres_serve::Catalog;

const CHROMIUM: &str = "/usr/bin/chromium";
const CHROMEDRIVER: &str = "/usr/bin/chromedriver";

/// ChromeDriver on a free loopback port, killed when dropped.
struct Driver {
    child: Child,
    port: u16,
}

impl Driver {
    fn start() -> Self {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let child = Command::new(CHROMEDRIVER)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start chromedriver");
        Self { child, port }
    }
}

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

async fn connect(driver: &Driver) -> Client {
    let mut capabilities = serde_json::Map::new();
    // Headless, and quiet on a machine without a network: no background connections.
    capabilities.insert(
        "goog:chromeOptions".into(),
        serde_json::json!({
            "binary": CHROMIUM,
            "args": [
                "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                "--disable-background-networking", "--disable-component-update",
                "--disable-sync", "--no-first-run", "--window-size=1280,1000",
            ],
        }),
    );
    let url = format!("http://127.0.0.1:{}", driver.port);
    let mut last_error = None;
    // ChromeDriver takes a moment to listen.
    for _ in 0..100 {
        match ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new())
            .capabilities(capabilities.clone())
            .connect(&url)
            .await
        {
            Ok(client) => return client,
            Err(e) => last_error = Some(e),
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("cannot open a browser session: {last_error:?}");
}

async fn script(client: &Client, js: &str) -> serde_json::Value {
    client.execute(js, vec![]).await.unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_page_upscales_a_set5_image_in_chromium() {
    if !Path::new(CHROMEDRIVER).exists() || !Path::new(CHROMIUM).exists() {
        assert!(
            std::env::var_os("UPRES_REQUIRE_TOOLS").is_none(),
            "UPRES_REQUIRE_TOOLS is set but {CHROMIUM} or {CHROMEDRIVER} is missing"
        );
        eprintln!("skipped: install Debian's chromium and chromium-driver to run this test");
        return;
    }
    let server = Server::start(Catalog::built_in().unwrap(), config()).await;
    let driver = Driver::start();
    let client = connect(&driver).await;

    client.goto(&server.url("/")).await.unwrap();
    client
        .wait()
        .at_most(Duration::from_secs(10))
        .for_element(Locator::Css("#model option[value='fsrcnn-x4']"))
        .await
        .unwrap();
    client
        .find(Locator::Id("model"))
        .await
        .unwrap()
        .select_by_value("fsrcnn-x4")
        .await
        .unwrap();
    let image = dataset("Set5/LR_bicubic/X4/babyx4.png")
        .canonicalize()
        .unwrap();
    client
        .find(Locator::Id("file-input"))
        .await
        .unwrap()
        .send_keys(image.to_str().unwrap())
        .await
        .unwrap();
    client
        .find(Locator::Id("start"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();

    let state = r#"return document.getElementById("app").dataset.state"#;
    let mut last = serde_json::Value::Null;
    for _ in 0..600 {
        last = script(&client, state).await;
        if last != "working" && last != "idle" {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let status = script(
        &client,
        r#"return document.getElementById("status").textContent"#,
    )
    .await;
    assert_eq!(last, "done", "the page says: {status}");

    let size = script(
        &client,
        r#"const r = document.getElementById("result-image");
           return [r.naturalWidth, r.naturalHeight];"#,
    )
    .await;
    assert_eq!(size, serde_json::json!([512, 512]), "x4 of 128x128");
    let download = client.find(Locator::Id("download")).await.unwrap();
    assert!(
        download
            .attr("href")
            .await
            .unwrap()
            .unwrap()
            .starts_with("blob:")
    );
    assert_eq!(
        download.attr("download").await.unwrap().as_deref(),
        Some("babyx4_x4_fsrcnn-x4.png")
    );

    // Move the slider with the keyboard, as a person would.
    let split = r#"return document.getElementById("compare").dataset.split"#;
    assert_eq!(script(&client, split).await, "50");
    let slider = client.find(Locator::Id("compare-slider")).await.unwrap();
    slider.click().await.unwrap();
    let before = script(&client, split).await;
    let left = Key::Left.to_string().repeat(20);
    slider.send_keys(&left).await.unwrap();
    let after = script(&client, split).await;
    let value = |v: &serde_json::Value| v.as_str().unwrap().parse::<f64>().unwrap();
    assert!(
        value(&after) <= value(&before) - 19.0,
        "20 steps left moved the split from {before} to {after}"
    );

    let screenshot = client.screenshot().await.unwrap();
    assert!(screenshot.starts_with(b"\x89PNG"), "a PNG screenshot");
    let out = Path::new(env!("CARGO_TARGET_TMPDIR")).join("serve-browser.png");
    std::fs::write(&out, &screenshot).unwrap();
    eprintln!("screenshot: {}", out.display());
    client.close().await.unwrap();
}
