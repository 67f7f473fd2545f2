//! Geometric and color augmentation, drawn once per pair and applied to both of its images.

use super::config::{Augment, ColorJitter};
use rand::{Rng, RngExt};
use upres_image::Image;

/// One of the eight flips and rotations of the square: an optional transpose, then optional
/// flips.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Dihedral {
    pub transpose: bool,
    pub hflip: bool,
    pub vflip: bool,
}

impl Dihedral {
    /// All eight, the identity first.
    pub fn all() -> impl Iterator<Item = Dihedral> {
        (0..8u8).map(Self::from_bits)
    }

    fn from_bits(k: u8) -> Self {
        Self {
            hflip: k & 1 != 0,
            vflip: k & 2 != 0,
            transpose: k & 4 != 0,
        }
    }

    /// Transposes (when set), then flips.
    pub fn apply(self, image: &Image) -> Image {
        let (w, h) = (image.width(), image.height());
        let (ow, oh) = if self.transpose { (h, w) } else { (w, h) };
        let mut data = Vec::with_capacity(image.data().len());
        for y in 0..oh {
            let y1 = if self.vflip { oh - 1 - y } else { y };
            for x in 0..ow {
                let x1 = if self.hflip { ow - 1 - x } else { x };
                let (sx, sy) = if self.transpose { (y1, x1) } else { (x1, y1) };
                data.extend_from_slice(image.pixel(sx, sy));
            }
        }
        Image::new(ow, oh, image.layout(), image.depth(), data)
            .expect("a permutation of the pixels keeps the sample count")
    }
}

impl Augment {
    /// Draws the transform of one pair. It always takes one draw from `rng`, so that the
    /// draws after it do not depend on which flips are enabled.
    pub(super) fn draw_dihedral<R: Rng + ?Sized>(&self, rng: &mut R) -> Dihedral {
        let d = Dihedral::from_bits(rng.random_range(0..8));
        Dihedral {
            transpose: d.transpose && self.rot90,
            hflip: d.hflip && self.hflip,
            vflip: d.vflip && self.vflip,
        }
    }
}

/// Color factors drawn from a [`ColorJitter`].
#[derive(Clone, Copy, Debug, PartialEq)]
pub(super) struct Jitter {
    brightness: f32,
    contrast: f32,
    saturation: f32,
}

impl ColorJitter {
    pub(super) fn draw<R: Rng + ?Sized>(&self, rng: &mut R) -> Jitter {
        let mut draw = |[lo, hi]: [f32; 2]| lo + (hi - lo) * rng.random::<f32>();
        Jitter {
            brightness: draw(self.brightness),
            contrast: draw(self.contrast),
            saturation: draw(self.saturation),
        }
    }
}

/// BT.601 luma weights, as torchvision's grayscale conversion uses.
fn gray(px: &[f32]) -> f32 {
    0.299 * px[0] + 0.587 * px[1] + 0.114 * px[2]
}

/// `factor * v + (1 - factor) * toward(pixel)` on every sample of RGB `image`, clamped to
/// 0..=255. Written so that a factor of one returns every sample exactly.
fn blend(image: &mut Image, factor: f32, toward: impl Fn(&[f32]) -> f32) {
    for px in image.data_mut().chunks_exact_mut(3) {
        let target = (1.0 - factor) * toward(px);
        for v in px {
            *v = (factor * *v + target).clamp(0.0, 255.0);
        }
    }
}

impl Jitter {
    /// Brightness, contrast, then saturation, each clamped as torchvision does. Contrast
    /// blends both images toward the HR image's mean gray, so that the LR image stays the
    /// downscaled HR image.
    pub(super) fn apply(self, hr: &mut Image, lr: Option<&mut Image>) {
        let mut images: Vec<&mut Image> = std::iter::once(hr).chain(lr).collect();
        for img in &mut images {
            blend(img, self.brightness, |_| 0.0);
        }
        let hr = &images[0];
        let mean =
            hr.data().chunks_exact(3).map(gray).sum::<f32>() / (hr.width() * hr.height()) as f32;
        for img in &mut images {
            blend(img, self.contrast, |_| mean);
            blend(img, self.saturation, gray);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;
    use upres_image::{Depth, Layout};

    fn ramp(w: usize, h: usize) -> Image {
        let data = (0..w * h * 3).map(|v| (v % 256) as f32).collect();
        Image::new(w, h, Layout::Rgb, Depth::U8, data).unwrap()
    }

    #[test]
    fn the_eight_transforms_are_distinct_and_move_pixels_as_named() {
        let img = ramp(3, 2);
        let all: Vec<Image> = Dihedral::all().map(|d| d.apply(&img)).collect();
        for (i, a) in all.iter().enumerate() {
            assert!(all[i + 1..].iter().all(|b| a != b));
        }
        let t = Dihedral {
            transpose: true,
            hflip: true,
            vflip: false,
        }
        .apply(&img);
        // Transpose then mirror horizontally: a quarter turn clockwise.
        assert_eq!((t.width(), t.height()), (2, 3));
        assert_eq!(t.pixel(1, 0), img.pixel(0, 0));
        assert_eq!(t.pixel(0, 0), img.pixel(0, 1));
    }

    #[test]
    fn disabled_flips_give_the_identity() {
        let none = Augment {
            hflip: false,
            vflip: false,
            rot90: false,
            color_jitter: None,
        };
        let mut rng = rand::rngs::ChaCha8Rng::seed_from_u64(1);
        for _ in 0..32 {
            assert_eq!(none.draw_dihedral(&mut rng), Dihedral::default());
        }
    }

    #[test]
    fn neutral_jitter_changes_nothing_and_factors_act_as_named() {
        let img = ramp(4, 4);
        let mut rng = rand::rngs::ChaCha8Rng::seed_from_u64(2);
        let (mut hr, mut lr) = (img.clone(), img.clone());
        ColorJitter::default()
            .draw(&mut rng)
            .apply(&mut hr, Some(&mut lr));
        assert_eq!((&hr, &lr), (&img, &img));

        let half = Jitter {
            brightness: 0.5,
            contrast: 1.0,
            saturation: 0.0,
        };
        let mut hr = img.clone();
        half.apply(&mut hr, None);
        for (out, src) in hr.data().chunks_exact(3).zip(img.data().chunks_exact(3)) {
            let g = 0.5 * gray(src);
            assert!(out.iter().all(|v| (v - g).abs() < 1e-3), "{out:?} vs {g}");
        }
    }
}
