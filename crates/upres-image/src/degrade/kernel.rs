//! Blur kernels (Real-ESRGAN's families, after BasicSR's `degradations.py`) and 2-D filtering.

use crate::buffer::Image;
use crate::error::{ImageError, Result};
use rayon::prelude::*;
use std::f64::consts::PI;

/// A square kernel of odd size, row-major, normalised to sum to one.
///
/// Weights are sampled at integer offsets from the centre (x to the right, y down), as
/// MATLAB's `fspecial` and BasicSR's kernels are.
#[derive(Clone, Debug, PartialEq)]
pub struct Kernel {
    size: usize,
    weights: Vec<f64>,
}

/// How filtering reads beyond the image border.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Border {
    /// Mirror without repeating the edge (`dcb|abcd|cba`): PyTorch's `reflect` padding, which
    /// Real-ESRGAN's `filter2D` uses.
    Reflect,
    /// Repeat the edge sample: MATLAB's `imfilter(..., 'replicate')`, which the BD test sets use.
    Replicate,
}

impl Border {
    /// The source index for `index` on an axis of `len` samples.
    fn index(self, index: isize, len: usize) -> usize {
        let last = len as isize - 1;
        match self {
            Border::Replicate => index.clamp(0, last) as usize,
            Border::Reflect if last == 0 => 0,
            Border::Reflect => {
                let m = index.rem_euclid(2 * last);
                (if m <= last { m } else { 2 * last - m }) as usize
            }
        }
    }
}

impl Kernel {
    /// The bivariate Gaussian `exp(-q/2)` with `q = v^T S^-1 v`, `S = R diag(sx^2, sy^2) R^T`
    /// and `R` the rotation by `rotation` radians.
    pub fn gaussian(size: usize, sigma_x: f64, sigma_y: f64, rotation: f64) -> Result<Self> {
        let q = QuadraticForm::new(sigma_x, sigma_y, rotation)?;
        Self::from_fn(size, |x, y| (-0.5 * q.eval(x, y)).exp())
    }

    pub fn isotropic_gaussian(size: usize, sigma: f64) -> Result<Self> {
        Self::gaussian(size, sigma, sigma, 0.0)
    }

    /// The generalized Gaussian `exp(-q^beta / 2)`: flatter (beta > 1) or heavier-tailed
    /// (beta < 1) than the Gaussian (Liu et al., 2013; used by Real-ESRGAN).
    pub fn generalized_gaussian(
        size: usize,
        sigma_x: f64,
        sigma_y: f64,
        rotation: f64,
        beta: f64,
    ) -> Result<Self> {
        let q = QuadraticForm::new(sigma_x, sigma_y, rotation)?;
        check_beta(beta)?;
        Self::from_fn(size, |x, y| (-0.5 * q.eval(x, y).powf(beta)).exp())
    }

    /// The plateau-shaped `1 / (q^beta + 1)` (Real-ESRGAN).
    pub fn plateau(
        size: usize,
        sigma_x: f64,
        sigma_y: f64,
        rotation: f64,
        beta: f64,
    ) -> Result<Self> {
        let q = QuadraticForm::new(sigma_x, sigma_y, rotation)?;
        check_beta(beta)?;
        Self::from_fn(size, |x, y| 1.0 / (q.eval(x, y).powf(beta) + 1.0))
    }

    /// The ideal circular low-pass filter with angular cutoff `cutoff` (radians per sample),
    /// `cutoff J1(cutoff r) / (2 pi r)`: the 2-D sinc that makes ringing and overshoot
    /// artifacts (Real-ESRGAN, Sec. 3.2).
    pub fn sinc(size: usize, cutoff: f64) -> Result<Self> {
        if !(cutoff.is_finite() && cutoff > 0.0) {
            return Err(ImageError::InvalidArgument(format!(
                "sinc cutoff must be positive, got {cutoff}"
            )));
        }
        Self::from_fn(size, |x, y| {
            let r = x.hypot(y);
            if r == 0.0 {
                // The limit of J1(c r) / r as r -> 0 is c / 2.
                cutoff * cutoff / (4.0 * PI)
            } else {
                cutoff * libm::j1(cutoff * r) / (2.0 * PI * r)
            }
        })
    }

    pub fn size(&self) -> usize {
        self.size
    }

    /// Row-major weights, `size * size` of them.
    pub fn weights(&self) -> &[f64] {
        &self.weights
    }

    /// Samples `f(x, y)` at the integer offsets of a `size` x `size` grid and normalises.
    fn from_fn(size: usize, f: impl Fn(f64, f64) -> f64) -> Result<Self> {
        if size.is_multiple_of(2) {
            return Err(ImageError::InvalidArgument(format!(
                "kernel size must be odd, got {size}"
            )));
        }
        let r = (size / 2) as f64;
        let mut weights: Vec<f64> = (0..size * size)
            .map(|i| f((i % size) as f64 - r, (i / size) as f64 - r))
            .collect();
        let sum: f64 = weights.iter().sum();
        if !(sum.is_finite() && sum > 0.0) {
            return Err(ImageError::InvalidArgument(format!(
                "a {size}x{size} kernel sums to {sum}; it cannot be normalised"
            )));
        }
        weights.iter_mut().for_each(|w| *w /= sum);
        Ok(Self { size, weights })
    }
}

/// `q(x, y) = v^T S^-1 v` for the covariance `S = R diag(sx^2, sy^2) R^T`: with `u = R^T v`,
/// `q = u0^2 / sx^2 + u1^2 / sy^2`.
struct QuadraticForm {
    cos: f64,
    sin: f64,
    inv_x: f64,
    inv_y: f64,
}

impl QuadraticForm {
    fn new(sigma_x: f64, sigma_y: f64, rotation: f64) -> Result<Self> {
        for (name, s) in [("sigma_x", sigma_x), ("sigma_y", sigma_y)] {
            if !(s.is_finite() && s > 0.0) {
                return Err(ImageError::InvalidArgument(format!(
                    "kernel {name} must be positive, got {s}"
                )));
            }
        }
        if !rotation.is_finite() {
            return Err(ImageError::InvalidArgument(format!(
                "kernel rotation must be finite, got {rotation}"
            )));
        }
        Ok(Self {
            cos: rotation.cos(),
            sin: rotation.sin(),
            inv_x: 1.0 / (sigma_x * sigma_x),
            inv_y: 1.0 / (sigma_y * sigma_y),
        })
    }

    fn eval(&self, x: f64, y: f64) -> f64 {
        let u0 = self.cos * x + self.sin * y;
        let u1 = -self.sin * x + self.cos * y;
        u0 * u0 * self.inv_x + u1 * u1 * self.inv_y
    }
}

fn check_beta(beta: f64) -> Result<()> {
    if beta.is_finite() && beta > 0.0 {
        Ok(())
    } else {
        Err(ImageError::InvalidArgument(format!(
            "kernel shape beta must be positive, got {beta}"
        )))
    }
}

/// Filters every channel (alpha included) with `kernel`, reading past the edges per `border`.
///
/// This is correlation, which equals convolution for the point-symmetric kernels made here.
/// Sums are taken in f64; the result is not rounded.
pub fn blur(image: &Image, kernel: &Kernel, border: Border) -> Result<Image> {
    let (w, h, c) = (image.width(), image.height(), image.channels());
    let k = kernel.size;
    let r = (k / 2) as isize;
    let xs: Vec<usize> = (0..w + k - 1)
        .map(|i| border.index(i as isize - r, w))
        .collect();
    let ys: Vec<usize> = (0..h + k - 1)
        .map(|i| border.index(i as isize - r, h))
        .collect();
    let src = image.data();
    let stride = w * c;
    let mut data = vec![0.0f32; src.len()];
    data.par_chunks_mut(stride.max(1))
        .enumerate()
        .for_each_init(
            || vec![0.0f64; stride],
            |acc, (y, out)| {
                acc.fill(0.0);
                for (ky, kernel_row) in kernel.weights.chunks_exact(k).enumerate() {
                    let sy = ys[y + ky];
                    let row = &src[sy * stride..(sy + 1) * stride];
                    for (kx, &weight) in kernel_row.iter().enumerate() {
                        for (x, px) in acc.chunks_exact_mut(c).enumerate() {
                            let s = xs[x + kx] * c;
                            for (a, &v) in px.iter_mut().zip(&row[s..s + c]) {
                                *a += weight * f64::from(v);
                            }
                        }
                    }
                }
                for (o, &a) in out.iter_mut().zip(acc.iter()) {
                    *o = a as f32;
                }
            },
        );
    Image::new(w, h, image.layout(), image.depth(), data)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::buffer::{Depth, Layout};

    /// The kernel's covariance `[[xx, xy], [xy, yy]]` about its centre.
    fn covariance(k: &Kernel) -> [[f64; 2]; 2] {
        let r = (k.size / 2) as f64;
        let mut m = [[0.0; 2]; 2];
        for (i, &w) in k.weights.iter().enumerate() {
            let (x, y) = ((i % k.size) as f64 - r, (i / k.size) as f64 - r);
            m[0][0] += w * x * x;
            m[0][1] += w * x * y;
            m[1][1] += w * y * y;
        }
        m[1][0] = m[0][1];
        m
    }

    fn every_kind(size: usize) -> Vec<(String, Kernel)> {
        let mut all = Vec::new();
        for (sx, sy, rot) in [(0.2, 0.2, 0.0), (1.3, 1.3, 0.0), (3.0, 0.7, 1.1)] {
            let tag = format!("{size} {sx} {sy} {rot}");
            all.push((format!("gauss {tag}"), Kernel::gaussian(size, sx, sy, rot)));
            for beta in [0.5, 1.0, 4.0] {
                all.push((
                    format!("generalized {tag} {beta}"),
                    Kernel::generalized_gaussian(size, sx, sy, rot, beta),
                ));
                all.push((
                    format!("plateau {tag} {beta}"),
                    Kernel::plateau(size, sx, sy, rot, beta),
                ));
            }
        }
        for cutoff in [PI / 5.0, PI / 3.0, PI / 2.0, PI] {
            all.push((format!("sinc {size} {cutoff}"), Kernel::sinc(size, cutoff)));
        }
        all.into_iter().map(|(n, k)| (n, k.unwrap())).collect()
    }

    #[test]
    fn every_kernel_integrates_to_one() {
        for size in (7..=21).step_by(2) {
            for (name, k) in every_kind(size) {
                let sum: f64 = k.weights().iter().sum();
                assert!((sum - 1.0).abs() < 1e-6, "{name}: sums to {sum}");
                assert_eq!(k.weights().len(), size * size);
            }
        }
    }

    #[test]
    fn isotropic_gaussian_has_its_sigma() {
        // A sampled Gaussian is exact down to sigma ~0.6; below, sampling at integer offsets
        // loses the tails' share of the variance (the same holds for MATLAB's fspecial and
        // BasicSR's kernels, which sample identically).
        for i in 0..=24 {
            let sigma = 0.6 + 0.1 * f64::from(i);
            let k =
                Kernel::isotropic_gaussian(2 * (6.0 * sigma).ceil() as usize + 1, sigma).unwrap();
            let c = covariance(&k);
            eprintln!("sigma {sigma:.1}: measured {:.4}", c[0][0].sqrt());
            for var in [c[0][0], c[1][1]] {
                let err = (var.sqrt() - sigma).abs() / sigma;
                assert!(err < 0.02, "sigma {sigma}: measured {}", var.sqrt());
            }
            assert!(c[0][1].abs() < 1e-12);
        }
        let c = covariance(&Kernel::isotropic_gaussian(13, 0.5).unwrap());
        assert!((c[0][0].sqrt() - 0.4637).abs() < 1e-4, "{}", c[0][0].sqrt());
    }

    #[test]
    fn anisotropic_gaussian_has_its_covariance() {
        for (sx, sy, theta) in [(2.5, 1.2, PI / 6.0), (1.0, 3.0, -1.0), (2.0, 0.8, 2.5)] {
            let k = Kernel::gaussian(41, sx, sy, theta).unwrap();
            let c = covariance(&k);
            // S = R diag(sx^2, sy^2) R^T.
            let (cos, sin) = (f64::cos(theta), f64::sin(theta));
            let want = [
                [
                    cos * cos * sx * sx + sin * sin * sy * sy,
                    cos * sin * (sx * sx - sy * sy),
                ],
                [
                    cos * sin * (sx * sx - sy * sy),
                    sin * sin * sx * sx + cos * cos * sy * sy,
                ],
            ];
            let scale = sx.max(sy).powi(2);
            for i in 0..2 {
                for j in 0..2 {
                    assert!(
                        (c[i][j] - want[i][j]).abs() < 0.02 * scale,
                        "({sx}, {sy}, {theta}) [{i}][{j}]: {} vs {}",
                        c[i][j],
                        want[i][j]
                    );
                }
            }
        }
    }

    #[test]
    fn bad_kernels_are_errors() {
        assert!(Kernel::isotropic_gaussian(6, 1.0).is_err());
        assert!(Kernel::isotropic_gaussian(7, 0.0).is_err());
        assert!(Kernel::gaussian(7, 1.0, f64::NAN, 0.0).is_err());
        assert!(Kernel::plateau(7, 1.0, 1.0, 0.0, -1.0).is_err());
        assert!(Kernel::sinc(7, 0.0).is_err());
    }

    #[test]
    fn borders_reflect_and_replicate() {
        let got: Vec<usize> = (-3..7).map(|i| Border::Reflect.index(i, 4)).collect();
        assert_eq!(got, vec![3, 2, 1, 0, 1, 2, 3, 2, 1, 0]);
        let got: Vec<usize> = (-2..6).map(|i| Border::Replicate.index(i, 4)).collect();
        assert_eq!(got, vec![0, 0, 0, 1, 2, 3, 3, 3]);
        assert_eq!(Border::Reflect.index(-5, 1), 0);
    }

    #[test]
    fn blur_keeps_flat_images_and_spreads_an_impulse_into_the_kernel() {
        let k = Kernel::gaussian(7, 1.5, 0.8, 0.4).unwrap();
        for border in [Border::Reflect, Border::Replicate] {
            let flat = Image::new(9, 5, Layout::Rgba, Depth::U8, vec![42.0; 9 * 5 * 4]).unwrap();
            let out = blur(&flat, &k, border).unwrap();
            assert!(out.data().iter().all(|v| (v - 42.0).abs() < 1e-4));
        }
        let mut impulse = Image::zeros(15, 15, Layout::Gray, Depth::U8);
        impulse.data_mut()[7 * 15 + 7] = 1.0;
        let out = blur(&impulse, &k, Border::Reflect).unwrap();
        for (i, &w) in k.weights().iter().enumerate() {
            let (x, y) = (4 + i % 7, 4 + i / 7);
            assert!((f64::from(out.pixel(x, y)[0]) - w).abs() < 1e-7);
        }
    }
}
