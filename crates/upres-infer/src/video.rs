//! Video through an SR method, frame by frame, streamed through the system's `ffmpeg`: one
//! process decodes to raw RGB frames on a pipe, another encodes the upscaled frames from a pipe
//! and copies the audio from the input. Decoding, upscaling and encoding run at once on their
//! own threads; only a few frames are in memory at any time, and nothing goes through
//! temporary image files.

use crate::pipeline::{TileSize, UpscaleOptions, upscale_image};
use crate::temporal::TemporalBlend;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc::sync_channel;
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
    /// The video codec's name (`h264`, `hevc`, `vp9`, ...).
    pub codec: String,
    pub has_audio: bool,
}

fn run_tool(tool: &'static str, args: &[&str]) -> Result<String, VideoError> {
    let out = Command::new(tool)
        .args(args)
        .output()
        .map_err(|source| VideoError::Spawn { tool, source })?;
    if !out.status.success() {
        return Err(VideoError::Tool {
            tool,
            reason: last_line(&out.stderr),
        });
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

fn last_line(stderr: &[u8]) -> String {
    let text = String::from_utf8_lossy(stderr);
    text.lines()
        .rev()
        .find(|l| !l.trim().is_empty())
        .unwrap_or("no message")
        .trim()
        .to_string()
}

/// Reads the first video stream's size, rate, frame count and codec, and whether there is
/// audio.
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
            "stream=width,height,r_frame_rate,nb_frames,codec_name",
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
    let audio = run_tool(
        "ffprobe",
        &[
            "-v",
            "error",
            "-select_streams",
            "a",
            "-show_entries",
            "stream=index",
            "-of",
            "csv=p=0",
            &name,
        ],
    )
    .map_err(|e| probe_err(e.to_string()))?;
    Ok(VideoInfo {
        width: number("width")?,
        height: number("height")?,
        frame_rate: field("r_frame_rate").ok_or_else(|| probe_err("no frame rate".into()))?,
        frames: field("nb_frames").and_then(|v| v.parse().ok()),
        codec: field("codec_name").unwrap_or_default(),
        has_audio: !audio.trim().is_empty(),
    })
}

/// The encoder that writes `codec`'s family (H.264 for anything else).
fn encoder_for(codec: &str) -> &'static str {
    match codec {
        "hevc" => "libx265",
        "vp8" | "vp9" => "libvpx-vp9",
        "av1" => "libaom-av1",
        _ => "libx264",
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
}

/// What a run did.
#[derive(Clone, Copy, Debug)]
pub struct VideoStats {
    pub frames: u64,
    pub seconds: f64,
}

/// A child process killed if it is dropped still running (an error on another thread).
struct Process(Child);

impl Process {
    /// Waits for the process to end; an error carries `what` it was doing and its last
    /// message.
    fn finish(&mut self, what: &str) -> Result<(), VideoError> {
        let mut stderr = Vec::new();
        if let Some(mut pipe) = self.0.stderr.take() {
            let _ = pipe.read_to_end(&mut stderr);
        }
        let status = self.0.wait().map_err(|e| VideoError::Tool {
            tool: "ffmpeg",
            reason: e.to_string(),
        })?;
        if !status.success() {
            return Err(VideoError::Tool {
                tool: "ffmpeg",
                reason: format!("{what}: {}", last_line(&stderr)),
            });
        }
        Ok(())
    }
}

impl Drop for Process {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Upscales every frame of `input` into `output` (written under a temporary name and renamed
/// when complete), copying the audio. `progress` hears (frames done, frames in all if known).
pub fn upscale_video(
    input: &Path,
    output: &Path,
    method: &dyn Upscaler,
    options: &VideoOptions,
    progress: &mut dyn FnMut(u64, Option<u64>),
) -> Result<VideoStats, VideoError> {
    let started = std::time::Instant::now();
    let info = probe(input)?;
    let scale = options.frame.scale;
    let (w, h) = (info.width, info.height);
    let frame_bytes = w * h * 3;
    // Every frame has the same size: the tile is chosen once, not per frame.
    let frame_options = UpscaleOptions {
        tile: TileSize::Fixed(options.frame.tile.side(method, scale, w, 3)),
        ..options.frame
    };
    let input_name = input.to_string_lossy().into_owned();
    let spawn = |tool: &'static str, cmd: &mut Command| {
        cmd.spawn()
            .map(Process)
            .map_err(|source| VideoError::Spawn { tool, source })
    };
    let mut decoder = spawn(
        "ffmpeg",
        Command::new("ffmpeg")
            .args(["-v", "error", "-nostdin", "-i", &input_name])
            .args(["-map", "0:v:0", "-f", "rawvideo", "-pix_fmt", "rgb24", "-"])
            .stdout(Stdio::piped())
            .stderr(Stdio::piped()),
    )?;
    let temp = temp_path(output);
    let temp_name = temp.to_string_lossy().into_owned();
    let size = format!("{}x{}", w * scale, h * scale);
    let crf = options.crf.to_string();
    let mut encode = Command::new("ffmpeg");
    encode
        .args(["-v", "error", "-y", "-f", "rawvideo", "-pix_fmt", "rgb24"])
        .args(["-s", &size, "-r", &info.frame_rate, "-i", "-"])
        .args([
            "-i",
            &input_name,
            "-map",
            "0:v:0",
            "-map",
            "1:a?",
            "-c:a",
            "copy",
        ])
        .args(["-c:v", encoder_for(&info.codec), "-crf", &crf])
        .args(["-pix_fmt", "yuv420p", &temp_name])
        .stdin(Stdio::piped())
        .stderr(Stdio::piped());
    let mut encoder = spawn("ffmpeg", &mut encode)?;

    let mut frames_in = decoder.0.stdout.take().expect("piped stdout");
    let mut frames_out = encoder.0.stdin.take().expect("piped stdin");
    let (decoded_tx, decoded_rx) = sync_channel::<Vec<u8>>(FRAMES_IN_FLIGHT);
    let (upscaled_tx, upscaled_rx) = sync_channel::<Vec<u8>>(FRAMES_IN_FLIGHT);
    let result = std::thread::scope(|s| -> Result<u64, VideoError> {
        s.spawn(move || {
            loop {
                let mut frame = vec![0u8; frame_bytes];
                if frames_in.read_exact(&mut frame).is_err() || decoded_tx.send(frame).is_err() {
                    break;
                }
            }
        });
        let writer = s.spawn(move || -> std::io::Result<()> {
            for frame in upscaled_rx {
                frames_out.write_all(&frame)?;
            }
            Ok(())
        });
        let mut done = 0u64;
        let mut blend = options.temporal.map(TemporalBlend::new);
        for frame in decoded_rx {
            let data = frame.iter().map(|&v| f32::from(v)).collect();
            let image =
                Image::new(w, h, Layout::Rgb, Depth::U8, data).map_err(|e| VideoError::Frame {
                    frame: done,
                    reason: e.to_string(),
                })?;
            let up = upscale_image(
                &image,
                "frame",
                method,
                &frame_options,
                &mut |_, _| {},
                &|| false,
            )
            .map_err(|e| VideoError::Frame {
                frame: done,
                reason: e.to_string(),
            })?;
            let up = match &mut blend {
                Some(blend) => blend.apply(&image, up),
                None => up,
            };
            if upscaled_tx
                .send(io::sample_bytes(&up, u16::to_ne_bytes))
                .is_err()
            {
                break;
            }
            done += 1;
            progress(done, info.frames);
        }
        drop(upscaled_tx);
        writer
            .join()
            .map_err(|_| VideoError::Tool {
                tool: "ffmpeg",
                reason: "the frame writer stopped".into(),
            })?
            .map_err(|e| VideoError::Tool {
                tool: "ffmpeg",
                reason: format!("writing frames: {e}"),
            })?;
        Ok(done)
    });
    // A writer that stopped early usually means the encoder failed: its message says why.
    let result = result.map_err(|e| match e {
        VideoError::Tool { .. } => encoder.finish("encoding").err().unwrap_or(e),
        e => e,
    });
    let outcome = result.and_then(|frames| {
        decoder.finish("decoding")?;
        encoder.finish("encoding")?;
        if frames == 0 {
            return Err(VideoError::Probe {
                path: input.to_path_buf(),
                reason: "no frames decoded".into(),
            });
        }
        std::fs::rename(&temp, output).map_err(|source| VideoError::Io {
            path: output.to_path_buf(),
            source,
        })?;
        Ok(frames)
    });
    match outcome {
        Ok(frames) => Ok(VideoStats {
            frames,
            seconds: started.elapsed().as_secs_f64(),
        }),
        Err(e) => {
            let _ = std::fs::remove_file(&temp);
            Err(e)
        }
    }
}

/// A hidden name beside `output` with its extension, so ffmpeg picks the same container.
fn temp_path(output: &Path) -> PathBuf {
    let name = output
        .file_name()
        .map_or_else(|| "video".to_string(), |n| n.to_string_lossy().into_owned());
    output.with_file_name(format!(".{name}.upres-tmp.{}", extension(output)))
}

fn extension(path: &Path) -> String {
    path.extension()
        .map_or_else(|| "mp4".to_string(), |e| e.to_string_lossy().into_owned())
}
