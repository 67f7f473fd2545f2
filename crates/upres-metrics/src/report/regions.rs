//! Where to look: the regions of a test set that show how methods differ. Found from the
//! structure tensor of the HR luma summed over each window: its larger eigenvalue is the
//! gradient energy along the dominant orientation, its smaller one the energy across it. A
//! window with a large gap between them holds strong edges of one orientation, where blur and
//! ringing show; a window whose smaller eigenvalue is large is detailed in every orientation, a
//! texture, where methods invent or lose detail.

use crate::evaluate::{Dataset, EvalError};
use upres_image::color::{LumaRounding, luma};

/// What a region was chosen for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RegionKind {
    /// The strongest oriented edges of the set.
    Edges,
    /// The richest detail in every orientation.
    Texture,
    /// Named on the command line.
    Chosen,
}

impl RegionKind {
    pub fn name(self) -> &'static str {
        match self {
            RegionKind::Edges => "edges",
            RegionKind::Texture => "texture",
            RegionKind::Chosen => "chosen",
        }
    }
}

/// A square of one HR image, in HR pixels.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Region {
    /// Index of the image in its dataset.
    pub image: usize,
    /// Its name (file stem).
    pub name: String,
    pub x: usize,
    pub y: usize,
    pub size: usize,
    pub kind: RegionKind,
}

impl Region {
    /// Whether the square of the same size at `x, y` of image `image` shares a pixel with it.
    fn overlaps(&self, image: usize, x: usize, y: usize) -> bool {
        self.image == image
            && self.x < x + self.size
            && x < self.x + self.size
            && self.y < y + self.size
            && y < self.y + self.size
    }
}

/// Window sums of the structure tensor `[gx², gy², gx·gy]` over an image, from integral
/// images.
struct StructureTensor {
    width: usize,
    integrals: [Vec<f64>; 3],
}

impl StructureTensor {
    /// Central-difference gradients of a `width x height` plane (zero at the outermost pixels).
    fn of(plane: &[f64], width: usize, height: usize) -> Self {
        let stride = width + 1;
        let mut integrals = [0; 3].map(|_| vec![0.0; stride * (height + 1)]);
        for y in 0..height {
            let mut row = [0.0; 3];
            for x in 0..width {
                let at = |x: usize, y: usize| plane[y * width + x];
                let (gx, gy) = if x == 0 || y == 0 || x + 1 == width || y + 1 == height {
                    (0.0, 0.0)
                } else {
                    (
                        (at(x + 1, y) - at(x - 1, y)) / 2.0,
                        (at(x, y + 1) - at(x, y - 1)) / 2.0,
                    )
                };
                for (sum, value) in row.iter_mut().zip([gx * gx, gy * gy, gx * gy]) {
                    *sum += value;
                }
                for (integral, sum) in integrals.iter_mut().zip(row) {
                    integral[(y + 1) * stride + x + 1] = integral[y * stride + x + 1] + sum;
                }
            }
        }
        Self { width, integrals }
    }

    /// The eigenvalues (larger first) of the tensor summed over a square, per pixel.
    fn eigenvalues(&self, x: usize, y: usize, size: usize) -> (f64, f64) {
        let stride = self.width + 1;
        let [xx, yy, xy] = [0, 1, 2].map(|k| {
            let i = &self.integrals[k];
            i[(y + size) * stride + x + size]
                - i[y * stride + x + size]
                - i[(y + size) * stride + x]
                + i[y * stride + x]
        });
        let area = (size * size) as f64;
        let (trace, gap) = (xx + yy, ((xx - yy).powi(2) + 4.0 * xy * xy).sqrt());
        ((trace + gap) / 2.0 / area, (trace - gap) / 2.0 / area)
    }
}

/// The set's edge region and its texture region (in another image, or else not overlapping
/// the first): squares
/// of `size` HR pixels at multiples of `align`, at least `margin` pixels inside each image
/// cropped to a multiple of `align` (the border the protocol crops).
pub fn pick(
    dataset: &Dataset,
    size: usize,
    align: usize,
    margin: usize,
) -> Result<Vec<Region>, EvalError> {
    let start = margin.div_ceil(align) * align;
    // (edge score, texture score, image, x, y) of every candidate window.
    let mut candidates = Vec::new();
    for index in 0..dataset.len() {
        let high = dataset.high_res(index, align)?;
        let (w, h) = (high.width(), high.height());
        if w < start + size + margin || h < start + size + margin {
            continue;
        }
        let tensor = StructureTensor::of(&luma(&high, LumaRounding::Exact), w, h);
        for y in (start..=h - size - margin).step_by(align) {
            for x in (start..=w - size - margin).step_by(align) {
                let (large, small) = tensor.eigenvalues(x, y, size);
                candidates.push((large - small, small, index, x, y));
            }
        }
    }
    let names: Vec<String> = dataset.image_names().collect();
    let region = |&(_, _, image, x, y): &(f64, f64, usize, usize, usize), kind| Region {
        image,
        name: names[image].clone(),
        x,
        y,
        size,
        kind,
    };
    let edges = candidates
        .iter()
        .max_by(|a, b| a.0.total_cmp(&b.0))
        .map(|c| region(c, RegionKind::Edges))
        .ok_or_else(|| EvalError::Dataset {
            dataset: dataset.name().into(),
            reason: format!("no image is large enough for a {size}x{size} crop"),
        })?;
    // From another image where the set has one, so that the two crops show two pictures.
    let elsewhere = candidates.iter().any(|c| c.2 != edges.image);
    let texture = candidates
        .iter()
        .filter(|c| !edges.overlaps(c.2, c.3, c.4) && (!elsewhere || c.2 != edges.image))
        .max_by(|a, b| a.1.total_cmp(&b.1))
        .map(|c| region(c, RegionKind::Texture));
    Ok(std::iter::once(edges).chain(texture).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A 64x64 plane: a vertical step edge in the left half, a checkerboard in the bottom
    /// right quarter, flat elsewhere.
    fn plane() -> Vec<f64> {
        (0..64 * 64)
            .map(|i| {
                let (x, y) = (i % 64, i / 64);
                if x < 32 {
                    if x < 16 { 0.0 } else { 200.0 }
                } else if y >= 32 {
                    if (x / 2 + y / 2) % 2 == 0 {
                        50.0
                    } else {
                        150.0
                    }
                } else {
                    100.0
                }
            })
            .collect()
    }

    #[test]
    fn edges_and_texture_are_told_apart() {
        let tensor = StructureTensor::of(&plane(), 64, 64);
        let (edge_large, edge_small) = tensor.eigenvalues(8, 8, 16);
        let (tex_large, tex_small) = tensor.eigenvalues(40, 40, 16);
        let (flat_large, _) = tensor.eigenvalues(40, 8, 16);
        assert!(edge_large > 100.0 && edge_small.abs() < 1e-9);
        assert!(tex_small > 100.0 && (tex_large - tex_small).abs() < 0.25 * tex_large);
        assert_eq!(flat_large, 0.0);
    }

    #[test]
    fn window_sums_match_a_direct_sum() {
        let plane = plane();
        let tensor = StructureTensor::of(&plane, 64, 64);
        let (x0, y0, size) = (5, 27, 11);
        let (mut xx, mut yy, mut xy) = (0.0, 0.0, 0.0);
        for y in y0..y0 + size {
            for x in x0..x0 + size {
                let at = |x: usize, y: usize| plane[y * 64 + x];
                let gx = (at(x + 1, y) - at(x - 1, y)) / 2.0;
                let gy = (at(x, y + 1) - at(x, y - 1)) / 2.0;
                (xx, yy, xy) = (xx + gx * gx, yy + gy * gy, xy + gx * gy);
            }
        }
        let (large, small) = tensor.eigenvalues(x0, y0, size);
        let area = (size * size) as f64;
        assert!(((large + small) * area - (xx + yy)).abs() < 1e-6);
        assert!((large * small * area * area - (xx * yy - xy * xy)).abs() < 1e-3);
    }
}
