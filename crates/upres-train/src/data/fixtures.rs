//! Small synthetic images on disk, and the shared benchmark datasets, for the data tests.

use std::path::{Path, PathBuf};
use upres_image::{Depth, Image, Layout, io};

/// The shared benchmark datasets.
pub fn datasets() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/datasets")
}

/// An RGB texture with no symmetry, so that every flip and rotation of a patch differs.
pub fn texture(width: usize, height: usize, seed: usize) -> Image {
    let data = (0..width * height * 3)
        .map(|i| {
            let (x, y, c) = ((i / 3) % width, (i / 3) / width, i % 3);
            let (x, y) = (x as f32, y as f32);
            let v = 128.0
                + 60.0 * (0.31 * x + 0.07 * y * y / 16.0 + seed as f32).sin()
                + 40.0 * (0.23 * y + 0.05 * x * (c as f32 + 1.0)).cos()
                + 0.1 * x
                - 0.05 * y;
            v.round().clamp(0.0, 255.0)
        })
        .collect();
    Image::new(width, height, Layout::Rgb, Depth::U8, data).unwrap()
}

/// Writes `image` to `dir/name`.
pub fn write(dir: &Path, name: &str, image: &Image) {
    io::write(
        &dir.join(name),
        image,
        &Default::default(),
        Default::default(),
    )
    .unwrap();
}

/// A folder of textures of the given sizes, named `img{i}.png`.
pub fn folder(sizes: &[(usize, usize)]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    for (i, &(w, h)) in sizes.iter().enumerate() {
        write(dir.path(), &format!("img{i}.png"), &texture(w, h, i));
    }
    dir
}
