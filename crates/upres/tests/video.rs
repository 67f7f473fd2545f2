//! `upres video` on a synthetic clip: a Set14 image panned by known sub-pixel steps, with a
//! sound track. The output keeps every frame and the audio (checked with `ffprobe`), and the
//! model's frames beat bicubic's against the high-resolution pan. Variable frame rates keep
//! every frame's time, and an interrupted run continues after its finished parts.
//!
//! Needs Debian's `ffmpeg` (`.ci/run` installs it). Without it the test says so and passes,
//! unless `UPRES_REQUIRE_TOOLS` is set, as CI sets it.

mod common;

use common::{arg, dataset, upres_ok};
use std::io::{Read, Write};
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use upres_image::color::{LumaRounding, luma};
use upres_image::resize::downscale_bicubic;
use upres_image::{Depth, Image, Layout, UpscaleError, Upscaler};
use upres_infer::model::{AlphaMode, open_method};
use upres_infer::pipeline::{TileSize, UpscaleOptions};
use upres_infer::video::{VideoOptions, upscale_video};
use upres_metrics::quality::psnr;

const FRAMES: usize = 12;
/// High-resolution frame size; the clip is half of it.
const HR: (usize, usize) = (192, 128);

fn have_ffmpeg() -> bool {
    let found = Command::new("ffmpeg").arg("-version").output().is_ok();
    if !found {
        assert!(
            std::env::var_os("UPRES_REQUIRE_TOOLS").is_none(),
            "UPRES_REQUIRE_TOOLS is set but ffmpeg is missing"
        );
        eprintln!("skipped: install Debian's ffmpeg to run this test");
    }
    found
}

/// The ground truth: a window moving one high-resolution pixel right and half a pixel down per
/// frame over Set14's comic, which at half size is a pan by sub-pixel steps.
fn pan() -> Vec<Image> {
    let source = upres_image::io::read(&dataset("Set14").join("HR/comic.png"))
        .unwrap()
        .image;
    (0..FRAMES)
        .map(|t| {
            let (x, y) = (20 + t, 30 + t / 2);
            source.crop(x, y, HR.0, HR.1).unwrap()
        })
        .collect()
}

/// Encodes `frames` losslessly at 10 frames/s with a 440 Hz tone.
fn encode_clip(frames: &[Image], path: &Path) {
    let size = format!("{}x{}", frames[0].width(), frames[0].height());
    let mut ffmpeg = Command::new("ffmpeg")
        .args(["-v", "error", "-y", "-f", "rawvideo", "-pix_fmt", "rgb24"])
        .args(["-s", &size, "-r", "10", "-i", "-"])
        .args(["-f", "lavfi", "-i", "sine=frequency=440:duration=1.2"])
        .args([
            "-c:v", "libx264", "-qp", "0", "-pix_fmt", "yuv444p", "-c:a", "aac",
        ])
        .arg(arg(path))
        .stdin(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = ffmpeg.stdin.take().unwrap();
    for frame in frames {
        stdin
            .write_all(&upres_image::io::sample_bytes(frame, u16::to_ne_bytes))
            .unwrap();
    }
    drop(stdin);
    assert!(ffmpeg.wait().unwrap().success());
}

/// Every frame of a video as RGB.
fn decode(path: &Path, (w, h): (usize, usize)) -> Vec<Image> {
    let mut out = Command::new("ffmpeg")
        .args([
            "-v",
            "error",
            "-i",
            arg(path),
            "-f",
            "rawvideo",
            "-pix_fmt",
            "rgb24",
            "-",
        ])
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut raw = Vec::new();
    out.stdout.take().unwrap().read_to_end(&mut raw).unwrap();
    assert!(out.wait().unwrap().success());
    raw.chunks_exact(w * h * 3)
        .map(|f| {
            let data = f.iter().map(|&v| f32::from(v)).collect();
            Image::new(w, h, Layout::Rgb, Depth::U8, data).unwrap()
        })
        .collect()
}

fn ffprobe(path: &Path, stream: &str, entries: &str) -> String {
    let out = Command::new("ffprobe")
        .args(["-v", "error", "-select_streams", stream, "-count_frames"])
        .args(["-show_entries", entries, "-of", "csv=p=0", arg(path)])
        .output()
        .unwrap();
    assert!(out.status.success());
    String::from_utf8(out.stdout).unwrap().trim().to_string()
}

/// Mean Y-PSNR against the truth, and flicker: the mean absolute difference between the
/// output's frame-to-frame change and the truth's (0 for a perfectly steady result).
fn scores(frames: &[Image], truth: &[Image]) -> (f64, f64) {
    let y = |i: &Image| luma(i, LumaRounding::Matlab);
    let (ys, ts): (Vec<_>, Vec<_>) = (
        frames.iter().map(y).collect(),
        truth.iter().map(y).collect(),
    );
    let mean_psnr = ys.iter().zip(&ts).map(|(a, b)| psnr(a, b)).sum::<f64>() / ys.len() as f64;
    let mut flicker = 0.0;
    for t in 1..ys.len() {
        let diff: f64 = (0..ys[t].len())
            .map(|p| ((ys[t][p] - ys[t - 1][p]) - (ts[t][p] - ts[t - 1][p])).abs())
            .sum();
        flicker += diff / ys[t].len() as f64;
    }
    (mean_psnr, flicker / (ys.len() - 1) as f64)
}

#[test]
fn video_keeps_frames_and_audio_and_beats_bicubic() {
    if !have_ffmpeg() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let truth = pan();
    let low: Vec<Image> = truth
        .iter()
        .map(|f| downscale_bicubic(f, 2.0).unwrap())
        .collect();
    let clip = dir.path().join("pan.mp4");
    encode_clip(&low, &clip);

    let mut results = Vec::new();
    let runs: [(&str, &[&str]); 3] = [
        ("bicubic", &[]),
        ("fsrcnn-x2", &[]),
        ("fsrcnn-x2", &["--temporal", "0.5"]),
    ];
    for (i, (model, extra)) in runs.into_iter().enumerate() {
        let out = dir.path().join(format!("run{i}.mp4"));
        let mut args = vec!["video", "-i", arg(&clip), "-o", arg(&out), "-s", "2"];
        args.extend(["-m", model, "--crf", "0"]);
        args.extend(extra);
        upres_ok(&args);
        assert_eq!(
            ffprobe(&out, "v:0", "stream=nb_read_frames"),
            FRAMES.to_string()
        );
        assert_eq!(ffprobe(&out, "v:0", "stream=width,height"), "192,128");
        assert_eq!(
            ffprobe(&out, "a:0", "stream=codec_name"),
            "aac",
            "audio copied"
        );
        let frames = decode(&out, HR);
        assert_eq!(frames.len(), FRAMES);
        let (mean_psnr, flicker) = scores(&frames, &truth);
        println!("{model} {extra:?}: Y-PSNR {mean_psnr:.2} dB, flicker {flicker:.3}");
        results.push((mean_psnr, flicker));
    }
    let [bicubic, plain, steady] = results[..] else {
        unreachable!("three runs")
    };
    assert!(
        plain.0 > bicubic.0 + 0.3,
        "fsrcnn-x2 {plain:?} vs bicubic {bicubic:?}"
    );
    assert!(
        steady.1 < plain.1,
        "the temporal option lowers flicker: {steady:?} vs {plain:?}"
    );
    assert!(
        steady.0 > plain.0 - 0.3,
        "without costing detail: {steady:?} vs {plain:?}"
    );
}

#[test]
fn a_missing_video_is_one_line_and_no_output() {
    if !have_ffmpeg() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out.mp4");
    let result = common::upres(&[
        "video",
        "-i",
        arg(&dir.path().join("nothing.mp4")),
        "-o",
        arg(&out),
    ]);
    assert!(!result.status.success());
    let stderr = String::from_utf8(result.stderr).unwrap();
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(stderr.contains("nothing.mp4"), "{stderr}");
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
}

/// Frame times of a video's first stream, in seconds as ffprobe prints them (skipping the
/// lines it gives a frame's side data).
fn frame_times(path: &Path) -> Vec<String> {
    ffprobe(path, "v:0", "frame=pts_time")
        .lines()
        .filter_map(|l| l.split(',').next().filter(|t| !t.is_empty()))
        .map(str::to_string)
        .collect()
}

#[test]
fn variable_frame_rate_keeps_every_frame_time_across_parts() {
    if !have_ffmpeg() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    // 30 frames/s with frames 5 to 12 dropped and the rest spreading out: no two gaps alike
    // for long, as a phone or a screen recorder writes.
    let clip = dir.path().join("vfr.mp4");
    let made = Command::new("ffmpeg")
        .args([
            "-v",
            "error",
            "-y",
            "-f",
            "lavfi",
            "-i",
            "testsrc=size=96x64:rate=30",
        ])
        .args([
            "-f",
            "lavfi",
            "-i",
            "sine=frequency=440:duration=2",
            "-t",
            "2",
        ])
        .args([
            "-vf",
            "select='not(between(n,5,12))',setpts='(N+floor(N*N/40))/30/TB'",
        ])
        .args(["-fps_mode", "passthrough", "-c:v", "libx264", "-c:a", "aac"])
        .arg(arg(&clip))
        .status()
        .unwrap();
    assert!(made.success());
    let times = frame_times(&clip);
    let gaps: std::collections::BTreeSet<_> = times
        .windows(2)
        .map(|t| {
            let (a, b): (f64, f64) = (t[0].parse().unwrap(), t[1].parse().unwrap());
            ((b - a) * 1e6).round() as i64
        })
        .collect();
    assert!(gaps.len() > 3, "a variable frame rate: {gaps:?}");

    let out = dir.path().join("vfr_x2.mp4");
    let args = [
        "video",
        "-i",
        arg(&clip),
        "-o",
        arg(&out),
        "-s",
        "2",
        "-m",
        "bicubic",
    ];
    upres_ok(&[&args[..], &["--segment", "0.25"]].concat());
    assert_eq!(frame_times(&out), times, "every frame at its own time");
    assert_eq!(ffprobe(&out, "v:0", "stream=width,height"), "192,128");
    assert_eq!(ffprobe(&out, "a:0", "stream=codec_name"), "aac");
    let parts = dir.path().join(".vfr_x2.mp4.upres-parts");
    assert!(!parts.exists(), "the parts are removed once joined");
}

/// An upscaler that counts its frames, and fails at one of them if told to.
struct Interrupted {
    inner: Box<dyn Upscaler>,
    calls: AtomicU64,
    fail_at: Option<u64>,
}

impl Upscaler for Interrupted {
    fn name(&self) -> String {
        self.inner.name()
    }

    fn upscale(&self, low_res: &Image, scale: usize) -> Result<Image, UpscaleError> {
        let call = self.calls.fetch_add(1, Ordering::SeqCst);
        if Some(call) == self.fail_at {
            return Err("interrupted".into());
        }
        self.inner.upscale(low_res, scale)
    }

    fn receptive_radius(&self) -> Option<usize> {
        self.inner.receptive_radius()
    }

    fn fixed_scale(&self) -> Option<usize> {
        self.inner.fixed_scale()
    }
}

#[test]
fn an_interrupted_run_continues_after_its_finished_parts() {
    if !have_ffmpeg() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let low: Vec<Image> = pan()
        .iter()
        .map(|f| downscale_bicubic(f, 2.0).unwrap())
        .collect();
    let clip = dir.path().join("pan.mp4");
    encode_clip(&low, &clip);
    let options = VideoOptions {
        frame: UpscaleOptions {
            scale: 2,
            tile: TileSize::Fixed(512), // one call per frame
            tta: false,
            write: Default::default(),
            read: Default::default(),
        },
        crf: 0,
        temporal: Some(0.5),
        part_seconds: 0.3, // three frames at 10 frames/s
        restart: false,
    };
    let upscaler = |fail_at| Interrupted {
        inner: open_method("fsrcnn-x2", AlphaMode::Model).unwrap(),
        calls: AtomicU64::new(0),
        fail_at,
    };
    let run =
        |out: &Path, method: &Interrupted| upscale_video(&clip, out, method, &options, &mut |_| {});

    let whole = dir.path().join("whole.mp4");
    let stats = run(&whole, &upscaler(None)).unwrap();
    assert_eq!((stats.frames, stats.resumed), (FRAMES as u64, 0));

    let resumed = dir.path().join("resumed.mp4");
    let failing = upscaler(Some(7));
    let error = run(&resumed, &failing).unwrap_err().to_string();
    assert!(error.contains("frame 7"), "{error}");
    assert!(!resumed.exists(), "no output until every frame is done");
    let parts = dir.path().join(".resumed.mp4.upres-parts");
    assert!(parts.join("part-000001.mp4").exists());
    assert!(!parts.join("part-000002.mp4").exists());

    let again = upscaler(None);
    let stats = run(&resumed, &again).unwrap();
    assert_eq!((stats.frames, stats.resumed), (FRAMES as u64, 6));
    // Frames 6 to 11, and frame 5 again to start the temporal blend where it left off.
    assert_eq!(again.calls.load(Ordering::SeqCst), 7);
    assert!(!parts.exists());
    assert_eq!(
        ffprobe(&resumed, "v:0", "stream=nb_read_frames"),
        FRAMES.to_string()
    );
    assert_eq!(ffprobe(&resumed, "a:0", "stream=codec_name"), "aac");
    let (a, b) = (decode(&whole, HR), decode(&resumed, HR));
    assert_eq!(a.len(), b.len());
    for (t, (a, b)) in a.iter().zip(&b).enumerate() {
        assert!(
            a.data() == b.data(),
            "frame {t} differs from the uninterrupted run's"
        );
    }

    // Other settings do not reuse the parts: they say how to start over.
    let _ = run(&resumed, &upscaler(Some(7)));
    let other = VideoOptions { crf: 10, ..options };
    let error = upscale_video(&clip, &resumed, &upscaler(None), &other, &mut |_| {});
    let error = error.unwrap_err().to_string();
    assert!(error.contains("--restart"), "{error}");
}
