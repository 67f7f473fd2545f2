//! A video is encoded in parts of a fixed number of frames, each its own file in a folder
//! beside the output, joined at the end without re-encoding (ffmpeg's concat demuxer). An
//! interrupted run leaves its finished parts there; the same command continues after them.

use super::VideoError;
use std::fmt::Write;
use std::path::{Path, PathBuf};

/// What a run's parts depend on, kept beside them: parts are only reused by the same run.
const SETTINGS: &str = "settings";
const LIST: &str = "parts.txt";

/// The parts folder of one output.
pub struct Parts {
    dir: PathBuf,
    extension: String,
    frames_per_part: u64,
    /// Parts already finished, by an earlier run.
    finished: u64,
}

impl Parts {
    /// Opens (or creates) `output`'s parts folder for a run described by `settings`. Parts of
    /// an earlier run with the same settings are kept (and resumed after); with `restart`,
    /// or when none were finished, it starts empty.
    pub fn open(
        output: &Path,
        settings: &str,
        frames_per_part: u64,
        restart: bool,
    ) -> Result<Self, VideoError> {
        let name = output
            .file_name()
            .map_or_else(|| "video".into(), |n| n.to_string_lossy().into_owned());
        let dir = output.with_file_name(format!(".{name}.upres-parts"));
        let extension = output
            .extension()
            .map_or_else(|| "mp4".into(), |e| e.to_string_lossy().into_owned());
        let io_err = |source| VideoError::Io {
            path: dir.clone(),
            source,
        };
        let settings = format!("{settings}frames per part: {frames_per_part}\n");
        let mut parts = Self {
            dir: dir.clone(),
            extension,
            frames_per_part,
            finished: 0,
        };
        if dir.exists() {
            let earlier = std::fs::read_to_string(dir.join(SETTINGS)).unwrap_or_default();
            if !restart && earlier != settings {
                return Err(VideoError::Resume {
                    path: dir,
                    reason: "holds parts of an interrupted run with other settings \
                             (--restart discards them)"
                        .into(),
                });
            }
            if restart {
                std::fs::remove_dir_all(&dir).map_err(io_err)?;
            } else {
                while parts.part(parts.finished).exists() {
                    parts.finished += 1;
                }
            }
        }
        std::fs::create_dir_all(&dir).map_err(io_err)?;
        std::fs::write(dir.join(SETTINGS), settings).map_err(io_err)?;
        Ok(parts)
    }

    pub fn frames_per_part(&self) -> u64 {
        self.frames_per_part
    }

    /// The first frame not in a finished part.
    pub fn first_frame(&self) -> u64 {
        self.finished * self.frames_per_part
    }

    /// Where part `index` lies once finished.
    pub fn part(&self, index: u64) -> PathBuf {
        self.dir.join(format!("part-{index:06}.{}", self.extension))
    }

    /// Where part `index` is written until it is finished.
    pub fn unfinished_part(&self, index: u64) -> PathBuf {
        self.dir
            .join(format!("part-{index:06}.unfinished.{}", self.extension))
    }

    /// Where the joined parts are written before they become the output.
    pub fn joined(&self) -> PathBuf {
        self.dir.join(format!("joined.{}", self.extension))
    }

    /// Writes the concat demuxer's list of the parts, each lasting until the next one starts
    /// (`starts`: each part's first frame time in microseconds), so that the joined video
    /// keeps every frame's time. Returns the list's path.
    pub fn list(&self, starts: &[i64]) -> Result<PathBuf, VideoError> {
        let mut list = String::from("ffconcat version 1.0\n");
        for (index, start) in starts.iter().enumerate() {
            let part = self.part(index as u64);
            let name = part.file_name().unwrap_or_default().to_string_lossy();
            let _ = writeln!(list, "file '{name}'");
            if let Some(next) = starts.get(index + 1) {
                let _ = writeln!(list, "duration {}us", next - start);
            }
        }
        let path = self.dir.join(LIST);
        std::fs::write(&path, list).map_err(|source| VideoError::Io {
            path: path.clone(),
            source,
        })?;
        Ok(path)
    }

    /// Removes the folder if a failed run finished no part: nothing there to continue.
    pub fn remove_if_empty(self) {
        if !self.part(0).exists() {
            self.remove();
        }
    }

    /// Removes the folder once the output is complete.
    pub fn remove(self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finished_parts_of_the_same_run_are_kept() {
        let dir = tempfile::tempdir().unwrap();
        let output = dir.path().join("clip.mkv");
        let parts = Parts::open(&output, "model: a\n", 10, false).unwrap();
        assert_eq!(parts.first_frame(), 0);
        std::fs::write(parts.part(0), b"0").unwrap();
        std::fs::write(parts.part(1), b"1").unwrap();
        std::fs::write(parts.unfinished_part(2), b"2").unwrap();
        assert!(
            parts
                .part(0)
                .ends_with(".clip.mkv.upres-parts/part-000000.mkv")
        );

        let again = Parts::open(&output, "model: a\n", 10, false).unwrap();
        assert_eq!(again.first_frame(), 20, "two parts of ten frames done");

        let other = Parts::open(&output, "model: b\n", 10, false);
        let message = other.err().unwrap().to_string();
        assert!(message.contains("--restart"), "{message}");
        let fewer_frames = Parts::open(&output, "model: a\n", 5, false);
        assert!(fewer_frames.is_err());

        let restarted = Parts::open(&output, "model: b\n", 10, true).unwrap();
        assert_eq!(restarted.first_frame(), 0);
        assert!(!restarted.part(0).exists());
    }

    #[test]
    fn the_list_gives_each_part_the_time_until_the_next() {
        let dir = tempfile::tempdir().unwrap();
        let parts = Parts::open(&dir.path().join("v.mp4"), "", 4, false).unwrap();
        let list = std::fs::read_to_string(parts.list(&[0, 400_000, 1_133_333]).unwrap());
        assert_eq!(
            list.unwrap(),
            "ffconcat version 1.0\nfile 'part-000000.mp4'\nduration 400000us\n\
             file 'part-000001.mp4'\nduration 733333us\nfile 'part-000002.mp4'\n"
        );
    }
}
