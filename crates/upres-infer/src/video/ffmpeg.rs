//! Running `ffmpeg` and `ffprobe` as child processes: their errors as one line, decoding
//! with every frame's timestamp, encoding from a timestamped stream.

use super::VideoError;
use std::io::{BufRead, BufReader, Read};
use std::path::Path;
use std::process::{Child, ChildStderr, Command, Stdio};
use std::sync::mpsc::Sender;

/// Runs a tool to completion; its standard output, or its last message as the error.
pub fn run_tool(tool: &'static str, args: &[&str]) -> Result<String, VideoError> {
    let out = Command::new(tool)
        .args(args)
        .output()
        .map_err(|source| VideoError::Spawn { tool, source })?;
    if !out.status.success() {
        return Err(VideoError::Tool {
            tool,
            reason: last_line(&String::from_utf8_lossy(&out.stderr)),
        });
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

fn last_line(text: &str) -> String {
    text.lines()
        .rev()
        .find(|l| !l.trim().is_empty())
        .unwrap_or("no message")
        .trim()
        .to_string()
}

/// An `ffmpeg` process, killed if it is dropped still running (an error elsewhere).
pub struct Process(pub Child);

impl Process {
    pub fn spawn(command: &mut Command) -> Result<Self, VideoError> {
        command
            .spawn()
            .map(Process)
            .map_err(|source| VideoError::Spawn {
                tool: "ffmpeg",
                source,
            })
    }

    /// Waits for the process to end. An error says `what` it was doing and its last message:
    /// `message` where its standard error was read elsewhere, else read here.
    pub fn finish(&mut self, what: &str, message: Option<String>) -> Result<(), VideoError> {
        let mut stderr = String::new();
        if let Some(mut pipe) = self.0.stderr.take() {
            let _ = pipe.read_to_string(&mut stderr);
        }
        let status = self.0.wait().map_err(|e| VideoError::Tool {
            tool: "ffmpeg",
            reason: e.to_string(),
        })?;
        if !status.success() {
            let message = message.unwrap_or_else(|| last_line(&stderr));
            return Err(VideoError::Tool {
                tool: "ffmpeg",
                reason: format!("{what}: {message}"),
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

/// An `ffmpeg` that decodes the first video stream of `input` to packed RGB frames on its
/// standard output, every decoded frame once (no frame dropped or repeated to fit a
/// constant rate), and logs each frame's time in microseconds on its standard error
/// (`showinfo` after `settb=AVTB`), for [`read_frame_times`].
pub fn decoder(input: &Path) -> Result<Process, VideoError> {
    Process::spawn(
        Command::new("ffmpeg")
            .args(["-hide_banner", "-nostats", "-nostdin", "-loglevel", "info"])
            .arg("-i")
            .arg(input)
            .args(["-map", "0:v:0", "-vf", "settb=AVTB,showinfo"])
            .args(["-fps_mode", "passthrough"])
            .args(["-f", "rawvideo", "-pix_fmt", "rgb24", "-"])
            .stdout(Stdio::piped())
            .stderr(Stdio::piped()),
    )
}

/// Reads the decoder's log: sends each frame's time (`None` where the frame has none) and
/// returns the last line that is not about a frame, the decoder's message if it fails.
pub fn read_frame_times(log: ChildStderr, times: Sender<Option<i64>>) -> String {
    let mut last = String::new();
    for line in BufReader::new(log).lines() {
        let Ok(line) = line else { break };
        match frame_time(&line) {
            // The receiver stops listening only when decoding is over; the log is still
            // drained so that ffmpeg never blocks on it.
            Some(time) => drop(times.send(time)),
            None if line.contains("Parsed_showinfo_") => {}
            None if !line.trim().is_empty() => last = line.trim().to_string(),
            None => {}
        }
    }
    if last.is_empty() {
        "no message".into()
    } else {
        last
    }
}

/// A `showinfo` frame line's `pts` (`Some(None)` for a frame without one); `None` for any
/// other line.
fn frame_time(line: &str) -> Option<Option<i64>> {
    let (_, rest) = line.split_once("Parsed_showinfo_")?;
    let (_, rest) = rest.split_once("] n:")?;
    let (_, pts) = rest.split_once("pts:")?;
    Some(pts.split_whitespace().next()?.parse().ok())
}

/// The encoder's options for `codec`'s family at constant quality `crf` (H.264 for codecs
/// without a family of their own).
pub fn encoder_args(codec: &str, crf: u8) -> Vec<String> {
    let (encoder, bitrate_cap) = match codec {
        "hevc" => ("libx265", false),
        // libvpx and libaom read -crf as a cap unless the bitrate is left free.
        "vp8" | "vp9" => ("libvpx-vp9", true),
        "av1" => ("libaom-av1", true),
        _ => ("libx264", false),
    };
    let mut args = vec![
        "-c:v".to_string(),
        encoder.into(),
        "-crf".into(),
        crf.to_string(),
    ];
    if bitrate_cap {
        args.extend(["-b:v".into(), "0".into()]);
    }
    args
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frame_times_come_from_showinfo_frame_lines_only() {
        let line = "[Parsed_showinfo_1 @ 0x55b9] n:  12 pts: 400000 pts_time:0.4 pos: 48";
        assert_eq!(frame_time(line), Some(Some(400_000)));
        let none = "[Parsed_showinfo_1 @ 0x55b9] n:   3 pts:NOPTS pts_time:NOPTS";
        assert_eq!(frame_time(none), Some(None));
        let config = "[Parsed_showinfo_1 @ 0x55b9] config in time_base: 1/1000000";
        assert_eq!(frame_time(config), None);
        assert_eq!(frame_time("Input #0, mov,mp4, from 'a.mp4':"), None);
    }
}
