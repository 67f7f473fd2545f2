//! The routes: what each request may carry, what it gets back, and every way it can fail,
//! each with its status and a one-line JSON error.

use crate::catalog::Catalog;
use crate::jobs::{ProgressBoard, Queue, State as JobState, valid_job_id};
use crate::metrics::{ErrorLabels, Metrics, RequestLabels, RouteLabels};
use crate::{ServeConfig, page};
use axum::Json;
use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::{DefaultBodyLimit, FromRequest, MatchedPath, Multipart, Path, Request};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use http_body_util::BodyExt;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Instant;
use upres_image::io::{self, Format, ReadOptions, WriteOptions};
use upres_image::{ImageError, Upscaler};
use upres_infer::pipeline::{
    PipelineError, TileSize, UpscaleOptions, memory_budget, upscale_image,
};

/// Everything the routes share.
pub struct State {
    catalog: Catalog,
    config: ServeConfig,
    queue: Arc<Queue>,
    progress: ProgressBoard,
    metrics: Metrics,
    /// A running mean of how long a job takes, in milliseconds, for `Retry-After`.
    job_ms: AtomicU64,
}

impl State {
    pub fn new(catalog: Catalog, config: ServeConfig) -> Self {
        Self {
            queue: Arc::new(Queue::new(config.max_jobs, config.queue_limit)),
            catalog,
            config,
            progress: ProgressBoard::default(),
            metrics: Metrics::new(),
            job_ms: AtomicU64::new(1000),
        }
    }

    /// Seconds until a slot is likely free: the queue ahead, at the mean job time.
    fn retry_after(&self) -> u64 {
        let ahead = self.queue.waiting() as u64 + 1;
        let slots = self.config.max_jobs.max(1) as u64;
        (self.job_ms.load(Ordering::Relaxed) * ahead)
            .div_ceil(1000 * slots)
            .max(1)
    }

    fn job_finished(&self, ms: u64) {
        // Exponential moving average, weight 1/4 on the newest job.
        let old = self.job_ms.load(Ordering::Relaxed);
        self.job_ms.store((3 * old + ms) / 4, Ordering::Relaxed);
    }

    /// The queue gauges, read from the queue when they are rendered.
    fn update_gauges(&self) {
        self.metrics.queued.set(self.queue.waiting() as i64);
        self.metrics.running.set(self.queue.running() as i64);
    }
}

pub fn router(state: Arc<State>) -> Router {
    Router::new()
        .route("/", get(page::index))
        .route("/app.js", get(page::script))
        .route("/style.css", get(page::style))
        .route("/healthz", get(healthz))
        .route("/metrics", get(metrics))
        .route("/v1/models", get(models))
        .route("/v1/upscale", post(upscale))
        .route("/v1/progress/{id}", get(progress))
        .fallback(not_found)
        .layer(DefaultBodyLimit::max(state.config.max_body_bytes))
        .layer(middleware::from_fn_with_state(state.clone(), record))
        .with_state(state)
}

/// A refused or failed request: its status, a reason for the error counter, and one line
/// for the client.
#[derive(Debug)]
pub struct ApiError {
    status: StatusCode,
    reason: &'static str,
    message: String,
    retry_after: Option<u64>,
}

impl ApiError {
    fn new(status: StatusCode, reason: &'static str, message: impl Into<String>) -> Self {
        Self {
            status,
            reason,
            message: message.into(),
            retry_after: None,
        }
    }

    fn bad_request(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "bad_request", message)
    }

    fn busy(state: &State, message: &str) -> Self {
        Self {
            retry_after: Some(state.retry_after()),
            ..Self::new(StatusCode::SERVICE_UNAVAILABLE, "busy", message)
        }
    }
}

/// Which error a response carried, for the counter in [`record`].
#[derive(Clone, Copy)]
struct ErrorReason(&'static str);

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = Json(serde_json::json!({ "error": self.message }));
        let mut response = (self.status, body).into_response();
        if let Some(seconds) = self.retry_after {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(seconds));
        }
        response.extensions_mut().insert(ErrorReason(self.reason));
        response
    }
}

/// Counts every request by route and status, times it, and counts errors by reason.
async fn record(
    axum::extract::State(state): axum::extract::State<Arc<State>>,
    request: Request,
    next: Next,
) -> Response {
    // Routes, not raw paths, label the counters, so that a scan of random URLs cannot grow
    // them without bound.
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map_or("unmatched", |p| p.as_str())
        .to_string();
    let start = Instant::now();
    let response = next.run(request).await;
    let status = response.status().as_u16();
    let metrics = &state.metrics;
    metrics
        .requests
        .get_or_create(&RequestLabels {
            route: route.clone(),
            status,
        })
        .inc();
    metrics
        .latency
        .get_or_create(&RouteLabels { route })
        .observe(start.elapsed().as_secs_f64());
    let reason = response.extensions().get::<ErrorReason>().map(|r| r.0);
    if let Some(reason) = reason.or((status >= 400).then_some("other")) {
        metrics.errors.get_or_create(&ErrorLabels { reason }).inc();
    }
    response
}

async fn not_found() -> ApiError {
    ApiError::new(StatusCode::NOT_FOUND, "not_found", "no such page")
}

async fn healthz(axum::extract::State(state): axum::extract::State<Arc<State>>) -> Response {
    Json(serde_json::json!({
        "status": "ok",
        "models": state.catalog.iter().count(),
        "jobs_running": state.queue.running(),
        "jobs_queued": state.queue.waiting(),
    }))
    .into_response()
}

async fn metrics(axum::extract::State(state): axum::extract::State<Arc<State>>) -> Response {
    state.update_gauges();
    (
        [(
            header::CONTENT_TYPE,
            "application/openmetrics-text; version=1.0.0; charset=utf-8",
        )],
        state.metrics.render(),
    )
        .into_response()
}

#[derive(serde::Serialize)]
struct ModelInfo<'a> {
    name: &'a str,
    kind: &'static str,
    scales: &'a [usize],
    /// The scales at which a request without a model gets this one.
    default_for: Vec<usize>,
    description: &'a str,
}

async fn models(axum::extract::State(state): axum::extract::State<Arc<State>>) -> Response {
    let catalog = &state.catalog;
    let models = catalog
        .iter()
        .map(|(name, entry)| ModelInfo {
            name,
            kind: if entry.is_interpolation() {
                "interpolation"
            } else {
                "model"
            },
            scales: &entry.scales,
            default_for: entry
                .scales
                .iter()
                .copied()
                .filter(|&s| catalog.default_for(s) == Some(name))
                .collect(),
            description: &entry.description,
        })
        .collect::<Vec<_>>();
    Json(serde_json::json!({
        "models": models,
        "max_pixels": state.config.max_pixels,
        "max_body_bytes": state.config.max_body_bytes,
    }))
    .into_response()
}

async fn progress(
    axum::extract::State(state): axum::extract::State<Arc<State>>,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    if !valid_job_id(&id) {
        return Err(ApiError::bad_request(BAD_JOB_ID));
    }
    Ok(Json(state.progress.get(&id)).into_response())
}

const BAD_JOB_ID: &str = "a job id is 8 to 64 letters, digits, '-' or '_'";

/// What a request asks for, before it is checked against the catalog.
#[derive(Default)]
struct Params {
    model: Option<String>,
    scale: Option<String>,
    format: Option<String>,
    tta: Option<String>,
    quality: Option<String>,
    job: Option<String>,
}

impl Params {
    /// Takes one query or form field; unknown names are refused, so a typo does not silently
    /// give a default.
    fn set(&mut self, name: &str, value: String) -> Result<(), ApiError> {
        let slot = match name {
            "model" => &mut self.model,
            "scale" => &mut self.scale,
            "format" => &mut self.format,
            "tta" => &mut self.tta,
            "quality" => &mut self.quality,
            "job" => &mut self.job,
            other => {
                return Err(ApiError::bad_request(format!(
                    "unknown parameter '{other}' (expected model, scale, format, tta, quality, job)"
                )));
            }
        };
        *slot = Some(value);
        Ok(())
    }

    fn from_query(query: Option<&str>) -> Result<Self, ApiError> {
        let mut params = Self::default();
        let pairs: Vec<(String, String)> = query_pairs(query.unwrap_or_default())?;
        for (name, value) in pairs {
            params.set(&name, value)?;
        }
        Ok(params)
    }

    /// The job this asks for, checked.
    fn resolve(self, catalog: &Catalog) -> Result<Job, ApiError> {
        let scale = match &self.scale {
            None => None,
            Some(text) => Some(text.parse::<usize>().ok().filter(|&s| s >= 1).ok_or_else(
                || ApiError::bad_request(format!("scale '{text}' is not a whole number ≥ 1")),
            )?),
        };
        let (model, scale) = match self.model.filter(|m| !m.is_empty()) {
            Some(model) => (model, scale),
            None => {
                let scale = scale.unwrap_or(4);
                let model = catalog.default_for(scale).ok_or_else(|| {
                    ApiError::bad_request(format!("no served model upscales x{scale}"))
                })?;
                (model.to_string(), Some(scale))
            }
        };
        let entry = catalog.get(&model).ok_or_else(|| {
            let names = catalog.iter().map(|(n, _)| n).collect::<Vec<_>>();
            ApiError::bad_request(format!(
                "unknown model '{model}' (served: {})",
                names.join(", ")
            ))
        })?;
        let scale = scale.unwrap_or(entry.scales[0]);
        if !entry.scales.contains(&scale) {
            return Err(ApiError::bad_request(format!(
                "{model} does not upscale x{scale}"
            )));
        }
        let format = match &self.format {
            None => Format::Png,
            Some(text) => text
                .parse()
                .map_err(|e: ImageError| ApiError::bad_request(e.to_string()))?,
        };
        let tta = match self.tta.as_deref() {
            None | Some("false" | "0" | "off" | "") => false,
            Some("true" | "1" | "on") => true,
            Some(other) => {
                return Err(ApiError::bad_request(format!(
                    "tta '{other}' is not true or false"
                )));
            }
        };
        let quality = match &self.quality {
            None => WriteOptions::default().jpeg_quality,
            Some(text) => text
                .parse::<u8>()
                .ok()
                .filter(|q| (1..=100).contains(q))
                .ok_or_else(|| {
                    ApiError::bad_request(format!("quality '{text}' is not in 1..=100"))
                })?,
        };
        if let Some(id) = &self.job
            && !valid_job_id(id)
        {
            return Err(ApiError::bad_request(BAD_JOB_ID));
        }
        Ok(Job {
            method: entry.method.clone(),
            model,
            scale,
            format,
            tta,
            quality,
            id: self.job,
        })
    }
}

/// `a=1&b=2` as pairs, percent-decoded.
fn query_pairs(query: &str) -> Result<Vec<(String, String)>, ApiError> {
    axum::extract::Query::<Vec<(String, String)>>::try_from_uri(
        &format!("/?{query}")
            .parse()
            .map_err(|_| ApiError::bad_request("malformed query string"))?,
    )
    .map(|q| q.0)
    .map_err(|e| ApiError::bad_request(format!("malformed query string: {e}")))
}

/// A checked request.
struct Job {
    model: String,
    method: Arc<dyn Upscaler>,
    scale: usize,
    format: Format,
    tta: bool,
    quality: u8,
    /// The client's id for progress reports.
    id: Option<String>,
}

/// The upscaled image, encoded.
struct Output {
    bytes: Vec<u8>,
    width: usize,
    height: usize,
}

/// How the body carries the image.
enum BodyKind {
    /// The file itself (`image/*` or `application/octet-stream`).
    Raw,
    /// A form: the file in the field `image` (or `file`), parameters in others.
    Multipart,
}

fn body_kind(headers: &HeaderMap) -> Result<BodyKind, ApiError> {
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    let mime = content_type
        .split(';')
        .next()
        .unwrap_or_default()
        .trim()
        .to_ascii_lowercase();
    match mime.as_str() {
        "multipart/form-data" => Ok(BodyKind::Multipart),
        "application/octet-stream" => Ok(BodyKind::Raw),
        m if m.starts_with("image/") => Ok(BodyKind::Raw),
        _ => Err(ApiError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media",
            format!(
                "content type '{content_type}' is not an image: send the file as image/* or \
                 application/octet-stream, or as the field 'image' of multipart/form-data"
            ),
        )),
    }
}

/// A body that went over the limit or broke off.
fn body_error(status: StatusCode, text: String) -> ApiError {
    if status == StatusCode::PAYLOAD_TOO_LARGE {
        ApiError::new(status, "body_too_large", text)
    } else {
        ApiError::new(status, "bad_request", text)
    }
}

/// Reads and drops a body of up to `limit` bytes; a larger one is left unread.
async fn drain(body: Body, limit: usize) {
    let mut body = http_body_util::Limited::new(body, limit);
    while let Some(Ok(_)) = body.frame().await {}
}

/// The parameters and the image file of a request.
async fn read_request(
    request: Request,
    kind: BodyKind,
    params: Params,
    limit: usize,
) -> Result<(Params, Bytes), ApiError> {
    let too_large = || {
        ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "body_too_large",
            format!("the body is larger than the allowed {limit} bytes"),
        )
    };
    let declared = request
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok()?.parse::<u64>().ok());
    if declared.is_some_and(|n| n > limit as u64) {
        return Err(too_large());
    }
    match kind {
        BodyKind::Raw => {
            let bytes = Bytes::from_request(request, &())
                .await
                .map_err(|r| body_error(r.status(), r.body_text()))?;
            Ok((params, bytes))
        }
        BodyKind::Multipart => {
            let mut params = params;
            let mut multipart = Multipart::from_request(request, &())
                .await
                .map_err(|r| body_error(r.status(), r.body_text()))?;
            let mut image = None;
            while let Some(field) = multipart
                .next_field()
                .await
                .map_err(|e| body_error(e.status(), e.body_text()))?
            {
                let name = field.name().unwrap_or_default().to_string();
                let bytes = field
                    .bytes()
                    .await
                    .map_err(|e| body_error(e.status(), e.body_text()))?;
                if name == "image" || name == "file" {
                    image = Some(bytes);
                } else {
                    let value = String::from_utf8(bytes.to_vec()).map_err(|_| {
                        ApiError::bad_request(format!("field '{name}' is not text"))
                    })?;
                    params.set(&name, value)?;
                }
            }
            let image =
                image.ok_or_else(|| ApiError::bad_request("the form has no field 'image'"))?;
            Ok((params, image))
        }
    }
}

/// Marks a job's progress finished however its request ends.
struct ProgressGuard {
    state: Arc<State>,
    id: Option<String>,
}

impl Drop for ProgressGuard {
    fn drop(&mut self) {
        if let Some(id) = &self.id {
            self.state.progress.finish(id);
        }
    }
}

async fn upscale(
    axum::extract::State(state): axum::extract::State<Arc<State>>,
    request: Request,
) -> Result<Response, ApiError> {
    let arrival = Instant::now();
    let deadline = tokio::time::Instant::from_std(arrival + state.config.timeout);
    let limit = state.config.max_body_bytes;
    let admitted = body_kind(request.headers()).and_then(|kind| {
        let params = Params::from_query(request.uri().query())?;
        let ticket = state
            .queue
            .admit()
            .ok_or_else(|| ApiError::busy(&state, "the job queue is full; retry later"))?;
        Ok((kind, params, ticket))
    });
    let (kind, params, ticket) = match admitted {
        Ok(admitted) => admitted,
        Err(error) => {
            // Read the body away first: a client still sending it would see its connection
            // reset instead of the answer.
            drain(request.into_body(), limit).await;
            return Err(error);
        }
    };
    let (params, bytes) = read_request(request, kind, params, limit).await?;
    let job = params.resolve(&state.catalog)?;
    if bytes.is_empty() {
        return Err(ApiError::bad_request("the body is empty: send an image"));
    }
    if let Some(id) = &job.id
        && !state.progress.start(id)
    {
        return Err(ApiError::new(
            StatusCode::CONFLICT,
            "bad_request",
            format!("job '{id}' is still running"),
        ));
    }
    let _finished = ProgressGuard {
        state: state.clone(),
        id: job.id.clone(),
    };
    let slot = tokio::time::timeout_at(deadline, ticket.slot())
        .await
        .map_err(|_| ApiError::busy(&state, "waited too long for a free slot; retry later"))?;

    let stop = Arc::new(AtomicBool::new(false));
    let (model, mime) = (job.model.clone(), job.format.mime_type());
    let work = {
        let (state, stop) = (state.clone(), stop.clone());
        tokio::task::spawn_blocking(move || {
            let started = Instant::now();
            let result = run_job(&state, &job, &bytes, &stop);
            state.job_finished(started.elapsed().as_millis() as u64);
            // The job holds its place and slot until it really ends, even past its deadline.
            drop((slot, ticket));
            result
        })
    };
    let output = match tokio::time::timeout_at(deadline, work).await {
        Ok(Ok(result)) => result?,
        Ok(Err(join)) => {
            return Err(ApiError::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                "internal",
                format!("the job failed: {join}"),
            ));
        }
        Err(_) => {
            stop.store(true, Ordering::SeqCst);
            return Err(ApiError::new(
                StatusCode::GATEWAY_TIMEOUT,
                "timeout",
                format!(
                    "the job took longer than {} s",
                    state.config.timeout.as_secs_f64()
                ),
            ));
        }
    };
    let elapsed = arrival.elapsed().as_millis().to_string();
    let headers = [
        (header::CONTENT_TYPE, mime.to_string()),
        (header::CACHE_CONTROL, "no-store".to_string()),
        (
            header::HeaderName::from_static("x-upres-model"),
            model.clone(),
        ),
        (
            header::HeaderName::from_static("x-upres-width"),
            output.width.to_string(),
        ),
        (
            header::HeaderName::from_static("x-upres-height"),
            output.height.to_string(),
        ),
        (
            header::HeaderName::from_static("x-upres-elapsed-ms"),
            elapsed,
        ),
    ];
    Ok((headers, output.bytes).into_response())
}

/// Decodes, upscales and encodes one image, on a blocking thread.
fn run_job(state: &State, job: &Job, bytes: &[u8], stop: &AtomicBool) -> Result<Output, ApiError> {
    let name = std::path::Path::new("upload");
    let read = ReadOptions {
        max_pixels: Some(state.config.max_pixels),
    };
    let decoded = io::decode(bytes, name, read).map_err(|e| match e {
        ImageError::TooManyPixels { .. } => ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "too_many_pixels",
            e.to_string(),
        ),
        ImageError::Unsupported { .. } => ApiError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media",
            e.to_string(),
        ),
        e => ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "corrupt_image",
            e.to_string(),
        ),
    })?;
    let image = &decoded.image;
    let result_pixels = (image.width() * image.height() * job.scale * job.scale) as u64;
    // The result is held in memory too: no larger than the largest input at x4.
    let max_result = state.config.max_pixels * 16;
    if result_pixels > max_result {
        return Err(ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "too_many_pixels",
            format!(
                "{}x{} at x{} makes {result_pixels} pixels, more than the allowed {max_result}",
                image.width(),
                image.height(),
                job.scale
            ),
        ));
    }
    if !job.format.supports_layout(image.layout()) {
        return Err(ApiError::bad_request(format!(
            "{} cannot store a {:?} image; ask for png",
            job.format.extension(),
            image.layout()
        )));
    }
    let method = job.method.as_ref();
    let budget = memory_budget() / state.config.max_jobs.max(1) as u64;
    let options = UpscaleOptions {
        scale: job.scale,
        tile: TileSize::Auto { budget },
        tta: job.tta,
        write: WriteOptions::default(),
        read,
    };
    let mut report = |done, total| {
        if let Some(id) = &job.id {
            state.progress.update(id, JobState::Running, done, total);
        }
    };
    report(0, 0);
    let upscaled = upscale_image(image, "upload", method, &options, &mut report, &|| {
        stop.load(Ordering::SeqCst)
    })
    .map_err(|e| match e {
        PipelineError::Stopped => {
            ApiError::new(StatusCode::GATEWAY_TIMEOUT, "timeout", e.to_string())
        }
        e => ApiError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "upscale_failed",
            e.to_string(),
        ),
    })?;
    let metadata = decoded.metadata.resized(job.scale as f64);
    let bytes = io::encode(&upscaled, &metadata, job.format, job.quality)
        .map_err(|e| ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "encode_failed", e))?;
    Ok(Output {
        bytes,
        width: upscaled.width(),
        height: upscaled.height(),
    })
}
