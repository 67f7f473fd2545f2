//! Video through an SR method, frame by frame, streamed through the system's `ffmpeg`: one
//! process decodes to raw RGB frames on a pipe, others encode the upscaled frames from a pipe,
//! part by part ([`parts`]), and the parts are joined with the input's audio. Decoding,
//! upscaling and encoding run at once on their own threads; only a few frames are in memory
//! at any time, and nothing goes through temporary image files. Every frame keeps its time,
//! so variable-frame-rate video stays in sync with its sound.

mod ffmpeg;
mod matroska;
mod parts;

use crate::pipeline::{TileSize, UpscaleOptions, upscale_image};
use crate::temporal::TemporalBlend;
use ffmpeg::{Process, decoder, encoder_args, read_frame_times, run_tool};
use matroska::RawVideoWriter;
use parts::Parts;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::mpsc::{Receiver, RecvTimeoutError, sync_channel};
use upres_image::{Depth, Image, Layout, Upscaler, io};

/// Frames in flight between the threads: enough to keep each busy, few enough for memory.
const FRAMES_IN_FLIGHT: usize = 4;

#[derive(Debug, thiserror::Error)]
pub enum VideoError {
    #[error("cannot run {tool}: {source} (install ffmpeg)")]
    Spawn {
        tool: &'static str,
        source: std::io::Error,
    },
    #[error("{path}: {reason}")]
    Probe { path: PathBuf, reason: String },
    #[error("{tool} failed: {reason}")]
    Tool { tool: &'static str, reason: String },
    #[error("frame {frame}: {reason}")]
    Frame { frame: u64, reason: String },
    #[error("{path}: {reason}")]
    Resume { path: PathBuf, reason: String },
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
}

/// What `ffprobe` says about a file's first video stream.
#[derive(Clone, Debug, PartialEq)]
pub struct VideoInfo {
    pub width: usize,
    pub height: usize,
    /// Frame rate as ffmpeg writes it (`30000/1001`).
    pub frame_rate: String,
    /// Frames, where the container says.
    pub frames: Option<u64>,
    /// The stream's time base (`1/15360`), kept by the output so frame times round back
    /// exactly.
    pub time_base: String,
    /// The video codec's name (`h264`, `hevc`, `vp9`, ...).
    pub codec: String,
}

/// Reads the first video stream's size, rate, time base, frame count and codec.
pub fn probe(path: &Path) -> Result<VideoInfo, VideoError> {
    let name = path.to_string_lossy();
    let probe_err = |reason: String| VideoError::Probe {
        path: path.to_path_buf(),
        reason,
    };
    let fields = run_tool(
        "ffprobe",
        &[
            "-v",
            "error",
            "-select_streams",
            "v:0",
            "-show_entries",
            "stream=width,height,r_frame_rate,time_base,nb_frames,codec_name",
            "-of",
            "default=noprint_wrappers=1",
            &name,
        ],
    )
    .map_err(|e| probe_err(e.to_string()))?;
    let field = |key: &str| {
        fields
            .lines()
            .find_map(|l| l.strip_prefix(key)?.strip_prefix('='))
            .map(str::to_string)
    };
    let number = |key: &str| -> Result<usize, VideoError> {
        field(key)
            .and_then(|v| v.parse().ok())
            .ok_or_else(|| probe_err(format!("no video stream with a {key}")))
    };
    Ok(VideoInfo {
        width: number("width")?,
        height: number("height")?,
        frame_rate: field("r_frame_rate").ok_or_else(|| probe_err("no frame rate".into()))?,
        time_base: field("time_base").unwrap_or_default(),
        frames: field("nb_frames").and_then(|v| v.parse().ok()),
        codec: field("codec_name").unwrap_or_default(),
    })
}

/// Frames per second from ffmpeg's `num/den` (25 where it says nothing usable).
fn frames_per_second(rate: &str) -> f64 {
    let fps = match rate.split_once('/') {
        Some((num, den)) => num.parse::<f64>().unwrap_or(0.0) / den.parse::<f64>().unwrap_or(0.0),
        None => rate.parse().unwrap_or(0.0),
    };
    if fps.is_finite() && fps > 0.0 {
        fps
    } else {
        25.0
    }
}

/// How to upscale a video.
#[derive(Clone, Copy, Debug)]
pub struct VideoOptions {
    /// Per frame: scale, tile and self-ensemble.
    pub frame: UpscaleOptions,
    /// The encoder's constant-quality setting (x264/x265 CRF; 0 is lossless for x264).
    pub crf: u8,
    /// Blend each frame with the motion-compensated previous result at this strength
    /// ([`TemporalBlend`]); `None` upscales frames independently.
    pub temporal: Option<f32>,
    /// Length of the parts the output is encoded in, in seconds at the nominal frame rate:
    /// the most an interrupted run loses.
    pub part_seconds: f64,
    /// Discard the finished parts of an interrupted run instead of continuing after them.
    pub restart: bool,
}

/// Where a run is: frames done (those of an interrupted run included), frames in all where
/// the container says, and frames an interrupted run had finished.
#[derive(Clone, Copy, Debug)]
pub struct VideoProgress {
    pub done: u64,
    pub total: Option<u64>,
    pub resumed: u64,
}

/// What a run did.
#[derive(Clone, Copy, Debug)]
pub struct VideoStats {
    /// Frames in the output.
    pub frames: u64,
    /// Frames an interrupted run had finished, not upscaled again.
    pub resumed: u64,
    pub seconds: f64,
}

/// A decoded frame: its place, its time in microseconds (if the stream gives one) and its
/// packed RGB.
struct Decoded {
    index: u64,
    time: Option<i64>,
    rgb: Vec<u8>,
}

/// What the encoding thread hears: an upscaled frame with its time, or that the video is
/// complete. A channel closed without `End` means the run failed: the part being written is
/// not finished.
enum ToEncoder {
    Frame { index: u64, time: i64, rgb: Vec<u8> },
    End,
}

/// Upscales every frame of `input` into `output`, keeping each frame's time and copying the
/// audio. The output is written in parts beside it ([`parts`]); a run that stops leaves its
/// finished parts, and the same call continues after them. The output appears, whole, only
/// at the end. `progress` hears of every frame done.
pub fn upscale_video(
    input: &Path,
    output: &Path,
    method: &dyn Upscaler,
    options: &VideoOptions,
    progress: &mut dyn FnMut(VideoProgress),
) -> Result<VideoStats, VideoError> {
    let started = std::time::Instant::now();
    let info = probe(input)?;
    let scale = options.frame.scale;
    let (w, h) = (info.width, info.height);
    let fps = frames_per_second(&info.frame_rate);
    let frames_per_part = (options.part_seconds * fps).round().max(1.0) as u64;
    let parts = Parts::open(
        output,
        &settings(input, method, options)?,
        frames_per_part,
        options.restart,
    )?;
    let run = FrameRun {
        method,
        // Every frame has the same size: the tile is chosen once, not per frame.
        options: UpscaleOptions {
            tile: TileSize::Fixed(options.frame.tile.side(method, scale, w, 3)),
            ..options.frame
        },
        size: (w, h),
        temporal: options.temporal,
        first: parts.first_frame(),
        frames_per_part,
        frame_us: (1e6 / fps).round() as i64,
        total: info.frames,
    };
    let encoding = Encoding {
        parts: &parts,
        size: (w * scale, h * scale),
        time_base: &info.time_base,
        codec: &info.codec,
        crf: options.crf,
    };

    let upscaled = run_parts(input, &run, &encoding, progress).and_then(|upscaled| {
        if upscaled.frames == 0 {
            return Err(VideoError::Probe {
                path: input.to_path_buf(),
                reason: "no frames decoded".into(),
            });
        }
        join_parts(input, output, &parts, &upscaled.part_starts)?;
        Ok(upscaled)
    });
    let upscaled = match upscaled {
        Ok(upscaled) => upscaled,
        Err(e) => {
            parts.remove_if_empty();
            return Err(e);
        }
    };
    parts.remove();
    Ok(VideoStats {
        frames: upscaled.frames,
        resumed: run.first.min(upscaled.frames),
        seconds: started.elapsed().as_secs_f64(),
    })
}

/// Decodes, upscales and encodes into parts, each on its own thread.
fn run_parts(
    input: &Path,
    run: &FrameRun,
    encoding: &Encoding,
    progress: &mut dyn FnMut(VideoProgress),
) -> Result<Upscaled, VideoError> {
    let (w, h) = run.size;
    let mut decoder = decoder(input)?;
    let log = decoder.0.stderr.take().expect("piped stderr");
    let frames_in = decoder.0.stdout.take().expect("piped stdout");
    let (time_tx, time_rx) = std::sync::mpsc::channel();
    let (decoded_tx, decoded_rx) = sync_channel::<Decoded>(FRAMES_IN_FLIGHT);
    let (upscaled_tx, upscaled_rx) = sync_channel::<ToEncoder>(FRAMES_IN_FLIGHT);
    std::thread::scope(|s| -> Result<Upscaled, VideoError> {
        let log_reader = s.spawn(move || read_frame_times(log, time_tx));
        s.spawn(move || read_frames(frames_in, w * h * 3, time_rx, decoded_tx));
        let encoder = s.spawn(|| encoding.run(upscaled_rx));
        let outcome = run.upscale(decoded_rx, &upscaled_tx, progress);
        if outcome.is_err() {
            let _ = decoder.0.kill();
        }
        let message = log_reader.join().ok();
        // The video is complete only if the decoder read all of it.
        let outcome = outcome.and_then(|done| {
            decoder.finish("decoding", message)?;
            // A closed channel means the encoder failed; joining it says why.
            let _ = upscaled_tx.send(ToEncoder::End);
            Ok(done)
        });
        drop(upscaled_tx);
        let encoded = encoder.join().unwrap_or_else(|_| {
            Err(VideoError::Tool {
                tool: "ffmpeg",
                reason: "the encoding thread stopped".into(),
            })
        });
        // An encoder that failed makes the decoder fail too (its output is no longer read):
        // the encoder's error is the cause.
        encoded?;
        outcome
    })
}

/// What a run's parts depend on: the same input file, method and settings.
fn settings(
    input: &Path,
    method: &dyn Upscaler,
    options: &VideoOptions,
) -> Result<String, VideoError> {
    let io_err = |source| VideoError::Io {
        path: input.to_path_buf(),
        source,
    };
    let file = std::fs::metadata(input).map_err(io_err)?;
    let modified = file
        .modified()
        .ok()
        .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
        .map(|t| t.as_nanos());
    Ok(format!(
        "upres: {}\ninput: {}\nbytes: {}\nmodified: {modified:?}\nmethod: {}\nscale: {}\n\
         self-ensemble: {}\ntemporal: {:?}\ncrf: {}\n",
        env!("CARGO_PKG_VERSION"),
        std::fs::canonicalize(input).map_err(io_err)?.display(),
        file.len(),
        method.name(),
        options.frame.scale,
        options.frame.tta,
        options.temporal,
        options.crf,
    ))
}

/// How long a frame's time may lag behind the frame: it is logged before the frame is
/// written, so only a log that never gives times (an ffmpeg that words `showinfo` otherwise)
/// takes this long, once; its frames then get the nominal frame length.
const TIME_WAIT: std::time::Duration = std::time::Duration::from_secs(10);

/// Reads raw frames from the decoder, each with its time from the decoder's log.
fn read_frames(
    mut pipe: impl Read,
    frame_bytes: usize,
    times: Receiver<Option<i64>>,
    frames: std::sync::mpsc::SyncSender<Decoded>,
) {
    let mut timed = true;
    for index in 0.. {
        let mut rgb = vec![0u8; frame_bytes];
        if pipe.read_exact(&mut rgb).is_err() {
            break;
        }
        // Waiting without a limit could hang: ffmpeg ends its log only when it exits, and it
        // cannot exit while its frames are not read.
        let time = match timed.then(|| times.recv_timeout(TIME_WAIT)) {
            Some(Ok(time)) => time,
            Some(Err(RecvTimeoutError::Timeout)) => {
                timed = false;
                None
            }
            Some(Err(RecvTimeoutError::Disconnected)) | None => None,
        };
        if frames.send(Decoded { index, time, rgb }).is_err() {
            break;
        }
    }
}

/// What the upscaling thread needs to know.
struct FrameRun<'a> {
    method: &'a dyn Upscaler,
    options: UpscaleOptions,
    size: (usize, usize),
    temporal: Option<f32>,
    /// The first frame to upscale (earlier ones are in finished parts).
    first: u64,
    frames_per_part: u64,
    /// A frame's nominal length, for frames that come without a time.
    frame_us: i64,
    total: Option<u64>,
}

/// What the upscaling thread saw.
struct Upscaled {
    frames: u64,
    /// The time of each part's first frame.
    part_starts: Vec<i64>,
}

impl FrameRun<'_> {
    fn image(&self, index: u64, rgb: &[u8]) -> Result<Image, VideoError> {
        let data = rgb.iter().map(|&v| f32::from(v)).collect();
        Image::new(self.size.0, self.size.1, Layout::Rgb, Depth::U8, data).map_err(|e| {
            VideoError::Frame {
                frame: index,
                reason: e.to_string(),
            }
        })
    }

    fn upscale_one(&self, index: u64, image: &Image) -> Result<Image, VideoError> {
        upscale_image(
            image,
            "frame",
            self.method,
            &self.options,
            &mut |_, _| {},
            &|| false,
        )
        .map_err(|e| VideoError::Frame {
            frame: index,
            reason: e.to_string(),
        })
    }

    /// Upscales the decoded frames from `first` on and hands them to the encoder. Stops early,
    /// without an error, if the encoder has stopped (its own error says why).
    fn upscale(
        &self,
        decoded: Receiver<Decoded>,
        encoder: &std::sync::mpsc::SyncSender<ToEncoder>,
        progress: &mut dyn FnMut(VideoProgress),
    ) -> Result<Upscaled, VideoError> {
        let mut seen = Upscaled {
            frames: 0,
            part_starts: Vec::new(),
        };
        let mut last_time: Option<i64> = None;
        let mut blend = None;
        // The last frame of a part and its own result (before blending), from which the next
        // part's blend starts.
        let mut part_end: Option<(Image, Image)> = None;
        // On resuming: the frame before the first one upscaled.
        let mut before_first = None;
        for frame in decoded {
            let index = frame.index;
            let time = frame
                .time
                .unwrap_or_else(|| last_time.map_or(0, |t| t + self.frame_us));
            if last_time.is_some_and(|last| time <= last) {
                return Err(VideoError::Frame {
                    frame: index,
                    reason: "its time is not after the frame before (remux the video first)".into(),
                });
            }
            last_time = Some(time);
            seen.frames = index + 1;
            let starts_part = index % self.frames_per_part == 0;
            if starts_part {
                seen.part_starts.push(time);
            }
            if index < self.first {
                if index + 1 == self.first && self.temporal.is_some() {
                    before_first = Some(self.image(index, &frame.rgb)?);
                }
                continue;
            }
            let image = self.image(index, &frame.rgb)?;
            if let Some(strength) = self.temporal.filter(|_| starts_part) {
                // Each part's blend starts afresh from the frame before it, upscaled alone: a
                // resumed run writes the same frames as one never interrupted.
                let mut fresh = TemporalBlend::new(strength);
                let before = match (part_end.take(), before_first.take()) {
                    (Some(end), _) => Some(end),
                    (None, Some(input)) => {
                        let result = self.upscale_one(index - 1, &input)?;
                        Some((input, result))
                    }
                    (None, None) => None,
                };
                if let Some((input, result)) = before {
                    fresh.apply(&input, result);
                }
                blend = Some(fresh);
            }
            let up = self.upscale_one(index, &image)?;
            let up = match &mut blend {
                Some(blend) => {
                    if (index + 1) % self.frames_per_part == 0 {
                        part_end = Some((image.clone(), up.clone()));
                    }
                    blend.apply(&image, up)
                }
                None => up,
            };
            let rgb = io::sample_bytes(&up, u16::to_ne_bytes);
            if encoder.send(ToEncoder::Frame { index, time, rgb }).is_err() {
                break;
            }
            progress(VideoProgress {
                done: index + 1,
                total: self.total,
                resumed: self.first,
            });
        }
        Ok(seen)
    }
}

/// How the upscaled frames are encoded, part by part.
struct Encoding<'a> {
    parts: &'a Parts,
    size: (usize, usize),
    time_base: &'a str,
    codec: &'a str,
    crf: u8,
}

/// One part being encoded: an `ffmpeg` reading a timestamped raw stream.
struct PartEncoder {
    index: u64,
    start: i64,
    process: Process,
    stream: RawVideoWriter<std::process::ChildStdin>,
}

impl Encoding<'_> {
    /// Encodes the frames it hears into parts; a part is finished (renamed to its final
    /// name) when the next one starts or the video ends.
    fn run(&self, frames: Receiver<ToEncoder>) -> Result<(), VideoError> {
        let mut current: Option<PartEncoder> = None;
        for message in frames {
            let (index, time, rgb) = match message {
                ToEncoder::Frame { index, time, rgb } => (index, time, rgb),
                ToEncoder::End => return current.map_or(Ok(()), |part| self.finish(part)),
            };
            let part = index / self.parts.frames_per_part();
            if current.as_ref().is_none_or(|p| p.index != part) {
                if let Some(done) = current.take() {
                    self.finish(done)?;
                }
                current = Some(self.start(part, time)?);
            }
            let encoder = current.as_mut().expect("a part is open");
            let written = encoder
                .stream
                .write_frame((time - encoder.start) as u64, &rgb);
            if let Err(e) = written {
                return Err(stopped(&mut encoder.process, part, e));
            }
        }
        // The run failed elsewhere: the open part is dropped unfinished, its ffmpeg killed.
        Ok(())
    }

    fn start(&self, index: u64, start: i64) -> Result<PartEncoder, VideoError> {
        let mut command = Command::new("ffmpeg");
        command
            .args(["-v", "error", "-y", "-f", "matroska", "-i", "-"])
            .args(encoder_args(self.codec, self.crf))
            .args(["-pix_fmt", "yuv420p", "-fps_mode", "passthrough"]);
        if !self.time_base.is_empty() && !self.time_base.starts_with('0') {
            // Frame times in microseconds round back to the input's own ticks.
            command.args(["-enc_time_base", self.time_base]);
        }
        command
            .arg(self.parts.unfinished_part(index))
            .stdin(Stdio::piped())
            .stderr(Stdio::piped());
        let mut process = Process::spawn(&mut command)?;
        let pipe = process.0.stdin.take().expect("piped stdin");
        let header = RawVideoWriter::new(pipe, self.size.0, self.size.1);
        let stream = match header {
            Ok(stream) => stream,
            Err(e) => return Err(stopped(&mut process, index, e)),
        };
        Ok(PartEncoder {
            index,
            start,
            process,
            stream,
        })
    }

    fn finish(&self, part: PartEncoder) -> Result<(), VideoError> {
        let PartEncoder {
            index,
            mut process,
            stream,
            ..
        } = part;
        drop(stream.into_inner()); // end of input: the encoder finishes the file
        process.finish(&format!("encoding part {index}"), None)?;
        let (from, to) = (self.parts.unfinished_part(index), self.parts.part(index));
        std::fs::rename(&from, &to).map_err(|source| VideoError::Io { path: to, source })
    }
}

/// Why writing frames to part `index`'s encoder failed: a closed pipe means the encoder
/// stopped, and its own message says why.
fn stopped(encoder: &mut Process, index: u64, error: std::io::Error) -> VideoError {
    let what = format!("encoding part {index}");
    match encoder.finish(&what, None) {
        Err(stopped) => stopped,
        Ok(()) => VideoError::Tool {
            tool: "ffmpeg",
            reason: format!("{what}: {error}"),
        },
    }
}

/// Joins the parts, each lasting until the next starts, with the input's audio, into a file
/// in the parts folder renamed to `output` when complete.
fn join_parts(
    input: &Path,
    output: &Path,
    parts: &Parts,
    starts: &[i64],
) -> Result<(), VideoError> {
    let list = parts.list(starts)?;
    let temp = parts.joined();
    let mut command = Command::new("ffmpeg");
    command.args(["-v", "error", "-y"]);
    if starts[0] != 0 {
        // The concat demuxer starts at zero; the video started later (or earlier).
        command.args(["-itsoffset", &format!("{}us", starts[0])]);
    }
    command
        .args(["-f", "concat", "-i"])
        .arg(&list)
        .arg("-i")
        .arg(input)
        .args(["-map", "0:v", "-map", "1:a?", "-c", "copy"])
        .arg(&temp)
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    let joined = Process::spawn(&mut command)
        .and_then(|mut p| p.finish("joining the parts", None))
        .and_then(|()| {
            std::fs::rename(&temp, output).map_err(|source| VideoError::Io {
                path: output.to_path_buf(),
                source,
            })
        });
    if joined.is_err() {
        let _ = std::fs::remove_file(&temp);
    }
    joined
}
