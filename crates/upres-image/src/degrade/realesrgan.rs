//! Real-ESRGAN's second-order degradation (Wang et al., "Real-ESRGAN: Training Real-World
//! Blind Super-Resolution with Pure Synthetic Data", ICCV-W 2021, Sec. 3 and Fig. 2).
//!
//! Two rounds of blur, resize, noise and JPEG, then a final resize to `1/scale` with a sinc
//! filter, in random order with the last JPEG. The defaults are the published
//! `train_realesrgan_x4plus.yml` options; the constants that the reference code fixes
//! (sinc cutoffs, the 50/50 final order, the 50/50 split of beta around 1) are kept as such.

use super::pipeline::{QualityRange, Range, check_kernel_size, check_probability, pick};
use super::{Border, Kernel, Op, ResizeMode, Size};
use crate::error::{ImageError, Result};
use rand::{Rng, RngExt};
use std::f64::consts::PI;

/// The kernel families of Real-ESRGAN's blur (Sec. 3.2).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum KernelKind {
    Iso,
    Aniso,
    GeneralizedIso,
    GeneralizedAniso,
    PlateauIso,
    PlateauAniso,
}

/// How one round draws its blur kernel.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct BlurConfig {
    /// The kernel families and their relative weights (`kernel_list`, `kernel_prob`).
    pub kernel_list: Vec<KernelKind>,
    pub kernel_prob: Vec<f64>,
    /// The probability of a sinc kernel instead of one of `kernel_list`.
    pub sinc_prob: f64,
    /// The range of sigma_x and sigma_y.
    pub blur_sigma: Range,
    /// Beta of the generalized Gaussian and of the plateau kernels.
    pub betag_range: Range,
    pub betap_range: Range,
}

impl Default for BlurConfig {
    fn default() -> Self {
        Self {
            kernel_list: vec![
                KernelKind::Iso,
                KernelKind::Aniso,
                KernelKind::GeneralizedIso,
                KernelKind::GeneralizedAniso,
                KernelKind::PlateauIso,
                KernelKind::PlateauAniso,
            ],
            kernel_prob: vec![0.45, 0.25, 0.12, 0.03, 0.12, 0.03],
            sinc_prob: 0.1,
            blur_sigma: Range(0.2, 3.0),
            betag_range: Range(0.5, 4.0),
            betap_range: Range(1.0, 2.0),
        }
    }
}

/// One round (order) of the degradation.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RoundConfig {
    /// The probability of blurring at all (1 in the first round, `second_blur_prob` after).
    pub blur_prob: f64,
    pub blur: BlurConfig,
    /// Weights of resizing up, down, or keeping the scale.
    pub resize_prob: [f64; 3],
    /// Scale factors: up draws from `[1, hi]`, down from `[lo, 1]`.
    pub resize_range: Range,
    /// The probability of Gaussian rather than Poisson noise.
    pub gaussian_noise_prob: f64,
    /// Gaussian sigma, 0..255 scale.
    pub noise_range: Range,
    pub poisson_scale_range: Range,
    pub gray_noise_prob: f64,
    pub jpeg_range: QualityRange,
}

impl Default for RoundConfig {
    /// The first round's published options.
    fn default() -> Self {
        Self {
            blur_prob: 1.0,
            blur: BlurConfig::default(),
            resize_prob: [0.2, 0.7, 0.1],
            resize_range: Range(0.15, 1.5),
            gaussian_noise_prob: 0.5,
            noise_range: Range(1.0, 30.0),
            poisson_scale_range: Range(0.05, 3.0),
            gray_noise_prob: 0.4,
            jpeg_range: QualityRange(30, 95),
        }
    }
}

impl RoundConfig {
    /// The second round's published options (`*2` in the yml).
    pub fn second() -> Self {
        Self {
            blur_prob: 0.8,
            blur: BlurConfig {
                blur_sigma: Range(0.2, 1.5),
                ..BlurConfig::default()
            },
            resize_prob: [0.3, 0.4, 0.3],
            resize_range: Range(0.3, 1.2),
            gaussian_noise_prob: 0.5,
            noise_range: Range(1.0, 25.0),
            poisson_scale_range: Range(0.05, 2.5),
            gray_noise_prob: 0.4,
            jpeg_range: QualityRange(30, 95),
        }
    }

    fn check(&self) -> Result<()> {
        let b = &self.blur;
        if b.kernel_list.is_empty() || b.kernel_list.len() != b.kernel_prob.len() {
            return Err(ImageError::InvalidArgument(format!(
                "kernel_list ({}) and kernel_prob ({}) must be non-empty and of equal length",
                b.kernel_list.len(),
                b.kernel_prob.len()
            )));
        }
        check_weights("kernel_prob", &b.kernel_prob)?;
        check_weights("resize_prob", &self.resize_prob)?;
        for (what, p) in [
            ("blur_prob", self.blur_prob),
            ("sinc_prob", b.sinc_prob),
            ("gaussian_noise_prob", self.gaussian_noise_prob),
            ("gray_noise_prob", self.gray_noise_prob),
        ] {
            check_probability(what, p)?;
        }
        b.blur_sigma.check("blur_sigma", f64::MIN_POSITIVE)?;
        b.betag_range.check("betag_range", f64::MIN_POSITIVE)?;
        b.betap_range.check("betap_range", f64::MIN_POSITIVE)?;
        self.resize_range.check("resize_range", f64::MIN_POSITIVE)?;
        self.noise_range.check("noise_range", 0.0)?;
        self.poisson_scale_range.check("poisson_scale_range", 0.0)?;
        self.jpeg_range.check()
    }

    /// The kernel of this round's blur, of a size drawn from `sizes`.
    fn kernel<R: Rng + ?Sized>(&self, sizes: &[usize], rng: &mut R) -> Result<Kernel> {
        let b = &self.blur;
        let size = pick(sizes, rng);
        if rng.random_bool(b.sinc_prob) {
            // Small kernels cannot hold a low cutoff's wide main lobe (realesrgan_dataset.py).
            let low = if size < 13 { PI / 3.0 } else { PI / 5.0 };
            return Kernel::sinc(size, Range(low, PI).sample(rng));
        }
        let kind = b.kernel_list[weighted(&b.kernel_prob, rng)];
        let sigma_x = b.blur_sigma.sample(rng);
        let (sigma_y, rotation) = match kind {
            KernelKind::Aniso | KernelKind::GeneralizedAniso | KernelKind::PlateauAniso => {
                (b.blur_sigma.sample(rng), Range(-PI, PI).sample(rng))
            }
            _ => (sigma_x, 0.0),
        };
        match kind {
            KernelKind::Iso | KernelKind::Aniso => {
                Kernel::gaussian(size, sigma_x, sigma_y, rotation)
            }
            KernelKind::GeneralizedIso | KernelKind::GeneralizedAniso => {
                let beta = beta(b.betag_range, rng);
                Kernel::generalized_gaussian(size, sigma_x, sigma_y, rotation, beta)
            }
            KernelKind::PlateauIso | KernelKind::PlateauAniso => {
                let beta = beta(b.betap_range, rng);
                Kernel::plateau(size, sigma_x, sigma_y, rotation, beta)
            }
        }
    }

    /// The resize factor: up, down or 1, by `resize_prob`.
    fn resize_factor<R: Rng + ?Sized>(&self, rng: &mut R) -> f64 {
        let Range(lo, hi) = self.resize_range;
        match weighted(&self.resize_prob, rng) {
            0 => Range(1.0, hi).sample(rng),
            1 => Range(lo, 1.0).sample(rng),
            _ => 1.0,
        }
    }

    fn noise<R: Rng + ?Sized>(&self, rng: &mut R) -> Op {
        let gaussian = rng.random_bool(self.gaussian_noise_prob);
        let gray = rng.random_bool(self.gray_noise_prob);
        if gaussian {
            Op::GaussianNoise {
                sigma: self.noise_range.sample(rng),
                gray,
            }
        } else {
            Op::PoissonNoise {
                scale: self.poisson_scale_range.sample(rng),
                gray,
            }
        }
    }

    fn jpeg<R: Rng + ?Sized>(&self, rng: &mut R) -> Op {
        Op::Jpeg {
            quality: self.jpeg_range.sample(rng),
        }
    }
}

/// Real-ESRGAN's degradation from an HR image to its `1/scale` LR input.
///
/// ```toml
/// type = "real_esrgan"
/// scale = 4
/// final_sinc_prob = 0.8
/// [second]
/// noise_range = [1.0, 20.0]
/// ```
///
/// Not included: Real-ESRGAN also feeds the degradation an unsharp-masked copy of the HR
/// image; sharpening the HR is left to the training data path.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RealEsrgan {
    /// The SR scale: the output is `floor(side / scale)`.
    pub scale: usize,
    /// Blur kernels have an odd size drawn from this inclusive range (7..=21).
    pub kernel_range: [usize; 2],
    /// The resize modes drawn from at every resize.
    pub resize_modes: Vec<ResizeMode>,
    pub first: RoundConfig,
    pub second: RoundConfig,
    /// The probability of the final sinc filter (otherwise no filter).
    pub final_sinc_prob: f64,
}

impl Default for RealEsrgan {
    fn default() -> Self {
        Self {
            scale: 4,
            kernel_range: [7, 21],
            resize_modes: ResizeMode::REAL_ESRGAN.to_vec(),
            first: RoundConfig::default(),
            second: RoundConfig::second(),
            final_sinc_prob: 0.8,
        }
    }
}

impl RealEsrgan {
    pub fn check(&self) -> Result<()> {
        if self.scale == 0 {
            return Err(ImageError::InvalidArgument("scale must be positive".into()));
        }
        let [lo, hi] = self.kernel_range;
        check_kernel_size(lo)?;
        check_kernel_size(hi)?;
        if lo > hi {
            return Err(ImageError::InvalidArgument(format!(
                "kernel_range [{lo}, {hi}] must be ordered"
            )));
        }
        if self.resize_modes.is_empty() {
            return Err(ImageError::InvalidArgument(
                "resize_modes must not be empty".into(),
            ));
        }
        check_probability("final_sinc_prob", self.final_sinc_prob)?;
        self.first.check()?;
        self.second.check()
    }

    /// Draws the operations for an HR input of `width` x `height`.
    pub fn sample<R: Rng + ?Sized>(
        &self,
        rng: &mut R,
        width: usize,
        height: usize,
    ) -> Result<Vec<Op>> {
        self.check()?;
        let [lo, hi] = self.kernel_range;
        let sizes: Vec<usize> = (lo..=hi).step_by(2).collect();
        let blur = |kernel| Op::Blur {
            kernel,
            border: Border::Reflect,
        };
        let mut ops = Vec::new();

        // First round: the resize is relative to the HR size.
        if rng.random_bool(self.first.blur_prob) {
            ops.push(blur(self.first.kernel(&sizes, rng)?));
        }
        ops.push(Op::Resize {
            size: Size::Factor(self.first.resize_factor(rng)),
            mode: pick(&self.resize_modes, rng),
        });
        ops.push(self.first.noise(rng));
        ops.push(self.first.jpeg(rng));

        // Second round: the resize is relative to the final LR size.
        if rng.random_bool(self.second.blur_prob) {
            ops.push(blur(self.second.kernel(&sizes, rng)?));
        }
        let factor = self.second.resize_factor(rng);
        let side = |n: usize| ((n as f64 / self.scale as f64 * factor) as usize).max(1);
        ops.push(Op::Resize {
            size: Size::Exact {
                width: side(width),
                height: side(height),
            },
            mode: pick(&self.resize_modes, rng),
        });
        ops.push(self.second.noise(rng));

        // Resize back with the sinc filter, before or after the last JPEG, at random.
        let mut back = vec![Op::Resize {
            size: Size::Exact {
                width: (width / self.scale).max(1),
                height: (height / self.scale).max(1),
            },
            mode: pick(&self.resize_modes, rng),
        }];
        if rng.random_bool(self.final_sinc_prob) {
            let cutoff = Range(PI / 3.0, PI).sample(rng);
            back.push(blur(Kernel::sinc(pick(&sizes, rng), cutoff)?));
        }
        let jpeg = self.second.jpeg(rng);
        if rng.random_bool(0.5) {
            ops.extend(back);
            ops.push(jpeg);
        } else {
            ops.push(jpeg);
            ops.extend(back);
        }
        ops.push(Op::Quantize);
        Ok(ops)
    }
}

/// Beta is drawn below or above 1 with equal odds (BasicSR's `random_bivariate_*`); a range
/// that does not reach below (above) 1 gives exactly 1 on that side.
fn beta<R: Rng + ?Sized>(range: Range, rng: &mut R) -> f64 {
    let Range(lo, hi) = range;
    if rng.random_bool(0.5) {
        Range(lo.min(1.0), 1.0).sample(rng)
    } else {
        Range(1.0, hi.max(1.0)).sample(rng)
    }
}

/// An index drawn with probability proportional to `weights` (checked by [`check_weights`]).
fn weighted<R: Rng + ?Sized>(weights: &[f64], rng: &mut R) -> usize {
    let total: f64 = weights.iter().sum();
    let mut u = rng.random::<f64>() * total;
    for (i, &w) in weights.iter().enumerate() {
        if u < w {
            return i;
        }
        u -= w;
    }
    // Float round-off can leave u just above the last weight.
    weights.iter().rposition(|&w| w > 0.0).unwrap_or(0)
}

fn check_weights(what: &str, weights: &[f64]) -> Result<()> {
    let total: f64 = weights.iter().sum();
    if weights.iter().all(|w| w.is_finite() && *w >= 0.0) && total > 0.0 {
        Ok(())
    } else {
        Err(ImageError::InvalidArgument(format!(
            "{what} must be non-negative weights with a positive sum, got {weights:?}"
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::buffer::{Depth, Image, Layout};
    use crate::degrade::{Pipeline, Step};
    use rand::SeedableRng;
    use rand::rngs::ChaCha8Rng;

    fn texture(w: usize, h: usize) -> Image {
        let data = (0..w * h * 3).map(|i| ((i * 7919) % 251) as f32).collect();
        Image::new(w, h, Layout::Rgb, Depth::U8, data).unwrap()
    }

    #[test]
    fn defaults_are_the_published_options() {
        let d = RealEsrgan::default();
        assert_eq!(
            d.first.blur.kernel_prob,
            [0.45, 0.25, 0.12, 0.03, 0.12, 0.03]
        );
        assert_eq!(d.first.blur.blur_sigma, Range(0.2, 3.0));
        assert_eq!(d.second.blur.blur_sigma, Range(0.2, 1.5));
        assert_eq!(d.first.resize_prob, [0.2, 0.7, 0.1]);
        assert_eq!(d.second.resize_prob, [0.3, 0.4, 0.3]);
        assert_eq!(d.second.blur_prob, 0.8);
        assert_eq!(d.second.noise_range, Range(1.0, 25.0));
        assert_eq!(d.final_sinc_prob, 0.8);
        // An empty TOML table is the default; a partial one overrides only what it names.
        assert_eq!(toml::from_str::<RealEsrgan>("").unwrap(), d);
        let c: RealEsrgan =
            toml::from_str("scale = 2\n[second]\nnoise_range = [1.0, 5.0]").unwrap();
        assert_eq!((c.scale, c.second.noise_range), (2, Range(1.0, 5.0)));
        assert_eq!(c.second.jpeg_range, QualityRange(30, 95));
        assert_eq!(c.first, d.first);
    }

    #[test]
    fn sampled_degradations_follow_the_recipe() {
        let config = RealEsrgan::default();
        let mut rng = ChaCha8Rng::seed_from_u64(2);
        let (mut sinc, mut jpeg_last, n) = (0, 0, 2000);
        for _ in 0..n {
            let ops = config.sample(&mut rng, 256, 200).unwrap();
            assert_eq!(ops.last(), Some(&Op::Quantize));
            let jpegs: Vec<u8> = ops
                .iter()
                .filter_map(|op| match op {
                    Op::Jpeg { quality } => Some(*quality),
                    _ => None,
                })
                .collect();
            assert_eq!(jpegs.len(), 2);
            assert!(jpegs.iter().all(|q| (30..=95).contains(q)));
            for op in &ops {
                if let Op::Blur { kernel, .. } = op {
                    assert!(kernel.size() % 2 == 1 && (7..=21).contains(&kernel.size()));
                }
            }
            let resizes: Vec<&Op> = ops
                .iter()
                .filter(|op| matches!(op, Op::Resize { .. }))
                .collect();
            assert_eq!(resizes.len(), 3);
            assert!(matches!(
                resizes[2],
                Op::Resize {
                    size: Size::Exact {
                        width: 64,
                        height: 50
                    },
                    ..
                }
            ));
            jpeg_last += usize::from(matches!(ops[ops.len() - 2], Op::Jpeg { .. }));
            // The final sinc sits right after the last resize.
            let last_resize = ops.iter().rposition(|op| matches!(op, Op::Resize { .. }));
            sinc += usize::from(matches!(
                last_resize.and_then(|i| ops.get(i + 1)),
                Some(Op::Blur { .. })
            ));
        }
        let frac = |k: usize| k as f64 / f64::from(n);
        assert!((frac(jpeg_last) - 0.5).abs() < 0.05, "{jpeg_last}");
        assert!((frac(sinc) - 0.8).abs() < 0.05, "{sinc}");
    }

    #[test]
    fn degrades_to_the_lr_size_reproducibly() {
        let img = texture(96, 64);
        let p = Pipeline {
            steps: vec![Step::RealEsrgan(Box::default())],
        };
        for seed in 0..6 {
            let a = p.apply_seeded(&img, seed).unwrap();
            assert_eq!((a.width(), a.height()), (24, 16));
            assert!(
                a.data()
                    .iter()
                    .all(|v| v.fract() == 0.0 && (0.0..=255.0).contains(v))
            );
            assert_eq!(a, p.apply_seeded(&img, seed).unwrap());
        }
        assert_ne!(
            p.apply_seeded(&img, 0).unwrap(),
            p.apply_seeded(&img, 1).unwrap()
        );
    }

    #[test]
    fn bad_configs_are_errors() {
        let bad = [
            RealEsrgan {
                scale: 0,
                ..RealEsrgan::default()
            },
            RealEsrgan {
                kernel_range: [8, 21],
                ..RealEsrgan::default()
            },
            RealEsrgan {
                first: RoundConfig {
                    resize_prob: [0.0, 0.0, 0.0],
                    ..RoundConfig::default()
                },
                ..RealEsrgan::default()
            },
            RealEsrgan {
                second: RoundConfig {
                    blur: BlurConfig {
                        kernel_prob: vec![1.0],
                        ..BlurConfig::default()
                    },
                    ..RoundConfig::second()
                },
                ..RealEsrgan::default()
            },
        ];
        for config in bad {
            assert!(
                config
                    .sample(&mut ChaCha8Rng::seed_from_u64(0), 64, 64)
                    .is_err()
            );
        }
    }

    #[test]
    fn weighted_choice_follows_the_weights() {
        let mut rng = ChaCha8Rng::seed_from_u64(4);
        let weights = [0.45, 0.25, 0.12, 0.03, 0.12, 0.03];
        let mut counts = [0usize; 6];
        let n = 100_000;
        for _ in 0..n {
            counts[weighted(&weights, &mut rng)] += 1;
        }
        for (c, w) in counts.iter().zip(weights) {
            assert!((*c as f64 / n as f64 - w).abs() < 0.01, "{counts:?}");
        }
    }
}
