//! Which files a command works on: one file, a folder (recursively, mirrored into the output
//! folder) or a glob; and the output path of each.

use std::path::{Path, PathBuf};
use upres_image::io::{Format, ListError, is_image_path, list_images};

/// One input and where its result goes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Job {
    pub input: PathBuf,
    pub output: PathBuf,
}

#[derive(Debug, thiserror::Error)]
pub enum BatchError {
    #[error("{0}: no such file or folder, and no file matches it as a pattern")]
    NothingMatches(String),
    #[error("{0}: invalid pattern: {1}")]
    Pattern(String, String),
    #[error(transparent)]
    List(#[from] ListError),
    #[error("{0}: several inputs need an output folder, not a file name with an image extension")]
    OutputNotFolder(PathBuf),
}

/// Lists the jobs for `input` (a file, a folder or a glob) writing under `output`.
///
/// A single file writes to `output` itself when it has an image extension, else into the
/// folder `output`. Several files keep their paths relative to the folder (or the glob's
/// fixed prefix) inside `output`. `format` replaces the extension.
pub fn plan(input: &str, output: &Path, format: Option<Format>) -> Result<Vec<Job>, BatchError> {
    let path = Path::new(input);
    let (root, files) = if path.is_file() {
        return Ok(vec![single(path, output, format)]);
    } else if path.is_dir() {
        (path.to_path_buf(), list_images(path)?)
    } else {
        let matches =
            glob::glob(input).map_err(|e| BatchError::Pattern(input.into(), e.to_string()))?;
        let files: Vec<PathBuf> = matches
            .filter_map(Result::ok)
            .filter(|p| p.is_file())
            .collect();
        (glob_root(input), files)
    };
    if files.is_empty() {
        return Err(BatchError::NothingMatches(input.into()));
    }
    if is_image_path(output) {
        if files.len() == 1 {
            return Ok(vec![single(&files[0], output, format)]);
        }
        return Err(BatchError::OutputNotFolder(output.to_path_buf()));
    }
    let mut jobs: Vec<Job> = files
        .into_iter()
        .map(|input| {
            let relative = input.strip_prefix(&root).unwrap_or(&input).to_path_buf();
            let out = with_format(&output.join(relative), format);
            Job { input, output: out }
        })
        .collect();
    jobs.sort_by(|a, b| a.input.cmp(&b.input));
    Ok(jobs)
}

fn single(input: &Path, output: &Path, format: Option<Format>) -> Job {
    let output = if is_image_path(output) {
        output.to_path_buf()
    } else {
        with_format(&output.join(input.file_name().unwrap_or_default()), format)
    };
    Job {
        input: input.to_path_buf(),
        output,
    }
}

fn with_format(path: &Path, format: Option<Format>) -> PathBuf {
    match format {
        Some(f) => path.with_extension(f.extension()),
        None => path.to_path_buf(),
    }
}

/// The part of a glob before its first wildcard component.
fn glob_root(pattern: &str) -> PathBuf {
    Path::new(pattern)
        .components()
        .take_while(|c| !c.as_os_str().to_string_lossy().contains(['*', '?', '[']))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn touch(path: &Path) {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, b"x").unwrap();
    }

    #[test]
    fn folder_is_mirrored_recursively() {
        let tmp = tempfile::tempdir().unwrap();
        let src = tmp.path().join("in");
        touch(&src.join("a.png"));
        touch(&src.join("sub/b.JPG"));
        touch(&src.join("notes.txt"));
        let out = tmp.path().join("out");
        let jobs = plan(src.to_str().unwrap(), &out, Some(Format::Png)).unwrap();
        let outputs: Vec<_> = jobs.iter().map(|j| j.output.clone()).collect();
        assert_eq!(outputs, vec![out.join("a.png"), out.join("sub/b.png")]);
    }

    #[test]
    fn glob_keeps_paths_below_its_fixed_prefix() {
        let tmp = tempfile::tempdir().unwrap();
        touch(&tmp.path().join("in/x/1.png"));
        touch(&tmp.path().join("in/y/2.png"));
        touch(&tmp.path().join("in/y/3.bmp"));
        let pattern = format!("{}/in/*/*.png", tmp.path().display());
        let jobs = plan(&pattern, &tmp.path().join("o"), None).unwrap();
        let outputs: Vec<_> = jobs.iter().map(|j| j.output.clone()).collect();
        assert_eq!(
            outputs,
            vec![tmp.path().join("o/x/1.png"), tmp.path().join("o/y/2.png")]
        );
    }

    #[test]
    fn single_file_to_file_or_folder() {
        let tmp = tempfile::tempdir().unwrap();
        let input = tmp.path().join("p.jpg");
        touch(&input);
        let to_file = plan(input.to_str().unwrap(), &tmp.path().join("r.webp"), None).unwrap();
        assert_eq!(to_file[0].output, tmp.path().join("r.webp"));
        let to_dir = plan(
            input.to_str().unwrap(),
            &tmp.path().join("d"),
            Some(Format::Tiff),
        )
        .unwrap();
        assert_eq!(to_dir[0].output, tmp.path().join("d/p.tif"));
    }

    #[test]
    fn nothing_to_do_is_an_error() {
        let tmp = tempfile::tempdir().unwrap();
        let missing = format!("{}/none/*.png", tmp.path().display());
        assert!(matches!(
            plan(&missing, tmp.path(), None),
            Err(BatchError::NothingMatches(_))
        ));
    }
}
