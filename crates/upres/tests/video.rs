//! `upres video` on a synthetic clip: a Set14 image panned by known sub-pixel steps, with a
//! sound track. The output keeps every frame and the audio (checked with `ffprobe`), and the
//! model's frames beat bicubic's against the high-resolution pan.
//!
//! Needs Debian's `ffmpeg` (`.ci/run` installs it). Without it the test says so and passes,
//! unless `UPRES_REQUIRE_TOOLS` is set, as CI sets it.

mod common;

use common::{arg, dataset, upres_ok};
use std::io::{Read, Write};
use std::path::Path;
use std::process::{Command, Stdio};
use upres_image::color::{LumaRounding, luma};
use upres_image::resize::downscale_bicubic;
use upres_image::{Depth, Image, Layout};
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
