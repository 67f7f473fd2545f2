//! Makes the figure of `docs/degradations.md`: one HR patch and its x4 LR versions under the
//! test-set degradations and a few seeds of Real-ESRGAN's pipeline, shown at HR size (each LR
//! pixel as a 4x4 block) in a grid.
//!
//! ```sh
//! cargo run --release -p upres-image --example degradation_grid -- \
//!     ../shared/datasets/Set14/HR/monarch.png docs/img/degradations.png 300 130
//! ```
//!
//! Top row: HR, BI, BD, DN, JPEG30. Bottom row: Real-ESRGAN with seeds 1 to 5.

use std::error::Error;
use std::path::PathBuf;
use upres_image::degrade::{Pipeline, Step, TestDegradation};
use upres_image::io::{self, Metadata, WriteOptions};
use upres_image::resize::{Filter, ResizeOptions, Target, resize};
use upres_image::{Depth, Image, Layout};

const PATCH: usize = 128;
const SCALE: usize = 4;
const GAP: usize = 4;
const COLUMNS: usize = 5;

fn main() -> Result<(), Box<dyn Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [input, output, rest @ ..] = args.as_slice() else {
        return Err("usage: degradation_grid IN.png OUT.png [X Y]".into());
    };
    let (x, y) = match rest {
        [x, y] => (x.parse()?, y.parse()?),
        _ => (0, 0),
    };
    let hr = io::read(&PathBuf::from(input))?
        .image
        .to_rgb()
        .split_alpha()
        .0;
    let hr = hr.crop(x, y, PATCH, PATCH)?.to_depth(Depth::U8);

    let mut tiles = vec![hr.clone()];
    for d in TestDegradation::ALL {
        tiles.push(enlarge(&d.apply(&hr, SCALE)?)?);
    }
    let real_esrgan = Pipeline {
        steps: vec![Step::RealEsrgan(Box::default())],
    };
    for seed in 1..=5 {
        tiles.push(enlarge(&real_esrgan.apply_seeded(&hr, seed)?)?);
    }

    let rows = tiles.len().div_ceil(COLUMNS);
    let (w, h) = (
        COLUMNS * PATCH + (COLUMNS - 1) * GAP,
        rows * PATCH + (rows - 1) * GAP,
    );
    let mut grid = vec![255.0f32; w * h * 3];
    for (i, tile) in tiles.iter().enumerate() {
        let (x0, y0) = ((i % COLUMNS) * (PATCH + GAP), (i / COLUMNS) * (PATCH + GAP));
        for ty in 0..PATCH {
            let start = ((y0 + ty) * w + x0) * 3;
            let row = &tile.data()[ty * PATCH * 3..(ty + 1) * PATCH * 3];
            grid[start..start + PATCH * 3].copy_from_slice(row);
        }
    }
    let grid = Image::new(w, h, Layout::Rgb, Depth::U8, grid)?;
    io::write(
        &PathBuf::from(output),
        &grid,
        &Metadata::default(),
        WriteOptions::default(),
    )?;
    Ok(())
}

/// Shows an LR image at HR size, each pixel a block, so that artifacts stay visible.
fn enlarge(lr: &Image) -> Result<Image, Box<dyn Error>> {
    let target = Target::Size {
        width: PATCH,
        height: PATCH,
    };
    Ok(resize(lr, target, ResizeOptions::matlab(Filter::Nearest))?)
}
