//! Finding training images on disk, and the LR image paired with each HR image.

use super::DataError;
use std::collections::HashMap;
use std::path::{Path, PathBuf};

/// Every image under `dir`, recursively, in sorted order (so that a seed picks the same
/// images on every machine); an error if there are none.
pub(super) fn list_images(dir: &Path) -> Result<Vec<PathBuf>, DataError> {
    let files = upres_image::io::list_images(dir)?;
    if files.is_empty() {
        return Err(DataError::NoImages(dir.to_path_buf()));
    }
    Ok(files)
}

fn stem(path: &Path) -> String {
    path.file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default()
}

/// The images of an LR folder by file stem.
pub(super) struct LrFolder {
    dir: PathBuf,
    by_stem: HashMap<String, PathBuf>,
}

impl LrFolder {
    pub(super) fn open(dir: &Path) -> Result<Self, DataError> {
        let mut by_stem = HashMap::new();
        // Sorted, so that the first of several files with one stem wins on every machine.
        for path in list_images(dir)? {
            by_stem.entry(stem(&path)).or_insert(path);
        }
        Ok(Self {
            dir: dir.to_path_buf(),
            by_stem,
        })
    }

    /// The LR image for `hr`: `<stem>.<ext>`, else `<stem>x{scale}.<ext>` (the benchmark
    /// folders' naming).
    pub(super) fn find(&self, hr: &Path, scale: usize) -> Result<PathBuf, DataError> {
        let stem = stem(hr);
        self.by_stem
            .get(&stem)
            .or_else(|| self.by_stem.get(&format!("{stem}x{scale}")))
            .cloned()
            .ok_or_else(|| DataError::LrMissing {
                hr: hr.to_path_buf(),
                dir: self.dir.clone(),
                stem,
                scale,
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lists_images_recursively_and_sorted() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("sub")).unwrap();
        for name in ["b.PNG", "a.jpg", "sub/c.tiff", "notes.txt"] {
            std::fs::write(dir.path().join(name), b"").unwrap();
        }
        let names: Vec<PathBuf> = list_images(dir.path())
            .unwrap()
            .iter()
            .map(|p| p.strip_prefix(dir.path()).unwrap().to_path_buf())
            .collect();
        assert_eq!(
            names,
            ["a.jpg", "b.PNG", "sub/c.tiff"].map(PathBuf::from).to_vec()
        );
    }

    #[test]
    fn empty_and_missing_folders_are_errors() {
        let dir = tempfile::tempdir().unwrap();
        let err = list_images(dir.path()).unwrap_err();
        assert!(matches!(err, DataError::NoImages(_)), "{err}");
        let err = list_images(&dir.path().join("missing")).unwrap_err();
        assert!(matches!(err, DataError::List(_)), "{err}");
    }

    #[test]
    fn lr_matched_by_stem_with_or_without_scale_suffix() {
        let dir = tempfile::tempdir().unwrap();
        for name in ["a.png", "bx3.png", "cx2.png"] {
            std::fs::write(dir.path().join(name), b"").unwrap();
        }
        let lr = LrFolder::open(dir.path()).unwrap();
        assert_eq!(
            lr.find(Path::new("hr/a.png"), 3).unwrap(),
            dir.path().join("a.png")
        );
        assert_eq!(
            lr.find(Path::new("hr/b.jpg"), 3).unwrap(),
            dir.path().join("bx3.png")
        );
        let err = lr.find(Path::new("hr/c.png"), 3).unwrap_err();
        assert!(err.to_string().contains("c.png"), "{err}");
    }
}
