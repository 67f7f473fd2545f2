//! A configurable chain of randomised degradation steps.

use super::{Border, Kernel, Op, RealEsrgan, ResizeMode, Size, apply_all};
use crate::buffer::Image;
use crate::error::{ImageError, Result};
use rand::rngs::ChaCha8Rng;
use rand::{Rng, RngExt, SeedableRng};
use std::f64::consts::PI;

/// A closed interval `[lo, hi]` that a parameter is drawn from uniformly; `[v, v]` fixes it.
/// Written as a two-element array in TOML: `sigma = [0.2, 3.0]`.
#[derive(Clone, Copy, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Range(pub f64, pub f64);

impl Range {
    /// Checks that the bounds are finite, ordered and at least `min`.
    pub(super) fn check(self, what: &str, min: f64) -> Result<()> {
        let Range(lo, hi) = self;
        if lo.is_finite() && hi.is_finite() && min <= lo && lo <= hi {
            Ok(())
        } else {
            Err(ImageError::InvalidArgument(format!(
                "{what} range [{lo}, {hi}] must be ordered, finite and at least {min}"
            )))
        }
    }

    pub(super) fn sample<R: Rng + ?Sized>(self, rng: &mut R) -> f64 {
        self.0 + (self.1 - self.0) * rng.random::<f64>()
    }
}

/// An inclusive range of JPEG qualities, `[lo, hi]` within 1..=100; integers are drawn
/// uniformly.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct QualityRange(pub u8, pub u8);

impl QualityRange {
    pub(super) fn check(self) -> Result<()> {
        let QualityRange(lo, hi) = self;
        if 1 <= lo && lo <= hi && hi <= 100 {
            Ok(())
        } else {
            Err(ImageError::InvalidArgument(format!(
                "JPEG quality range [{lo}, {hi}] must be ordered within 1..=100"
            )))
        }
    }

    pub(super) fn sample<R: Rng + ?Sized>(self, rng: &mut R) -> u8 {
        rng.random_range(self.0..=self.1)
    }
}

/// Checks that `p` is a probability.
pub(super) fn check_probability(what: &str, p: f64) -> Result<()> {
    if (0.0..=1.0).contains(&p) {
        Ok(())
    } else {
        Err(ImageError::InvalidArgument(format!(
            "{what} must be a probability in [0, 1], got {p}"
        )))
    }
}

/// Checks a kernel size for the blur steps.
pub(super) fn check_kernel_size(size: usize) -> Result<()> {
    if size % 2 == 1 {
        Ok(())
    } else {
        Err(ImageError::InvalidArgument(format!(
            "blur kernel size must be odd, got {size}"
        )))
    }
}

fn default_kernel_size() -> usize {
    21
}

fn default_rotation() -> Range {
    Range(-PI, PI)
}

fn default_modes() -> Vec<ResizeMode> {
    ResizeMode::REAL_ESRGAN.to_vec()
}

/// One step of a [`Pipeline`], with the ranges its parameters are drawn from.
///
/// In TOML, each step is a table tagged by `type`:
/// ```toml
/// [[steps]]
/// type = "blur"
/// sigma = [0.2, 3.0]
/// kernel_size = 21
/// ```
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Step {
    /// MATLAB bicubic downscaling by `scale` (rounds to the image depth, as MATLAB does).
    Downscale { scale: f64 },
    /// Isotropic Gaussian blur, reflecting at the borders.
    Blur {
        sigma: Range,
        #[serde(default = "default_kernel_size")]
        kernel_size: usize,
    },
    /// Anisotropic Gaussian blur: `sigma_x`, `sigma_y` along the axes rotated by `rotation`
    /// radians (default any angle), reflecting at the borders.
    AnisotropicBlur {
        sigma_x: Range,
        sigma_y: Range,
        #[serde(default = "default_rotation")]
        rotation: Range,
        #[serde(default = "default_kernel_size")]
        kernel_size: usize,
    },
    /// Resizes by a factor from `scale` with a mode drawn from `modes` (default area,
    /// bilinear, bicubic).
    Resize {
        scale: Range,
        #[serde(default = "default_modes")]
        modes: Vec<ResizeMode>,
    },
    /// Gaussian noise of a sigma (0..255 scale) from `sigma`; gray with probability `gray_prob`.
    GaussianNoise {
        sigma: Range,
        #[serde(default)]
        gray_prob: f64,
    },
    /// Poisson noise of a scale from `scale`; gray with probability `gray_prob`.
    PoissonNoise {
        scale: Range,
        #[serde(default)]
        gray_prob: f64,
    },
    /// JPEG compression at a quality from `quality`.
    Jpeg { quality: QualityRange },
    /// Rounds to the image depth.
    Quantize,
    /// Real-ESRGAN's whole second-order degradation, shrinking by its `scale`.
    RealEsrgan(Box<RealEsrgan>),
}

impl Step {
    /// Checks every parameter, so that a bad recipe fails before any image is touched.
    pub fn check(&self) -> Result<()> {
        match self {
            Step::Downscale { scale } => {
                if scale.is_finite() && *scale > 0.0 {
                    Ok(())
                } else {
                    Err(ImageError::InvalidArgument(format!(
                        "downscale factor must be positive, got {scale}"
                    )))
                }
            }
            Step::Blur { sigma, kernel_size } => {
                check_kernel_size(*kernel_size)?;
                sigma.check("blur sigma", f64::MIN_POSITIVE)
            }
            Step::AnisotropicBlur {
                sigma_x,
                sigma_y,
                rotation,
                kernel_size,
            } => {
                check_kernel_size(*kernel_size)?;
                sigma_x.check("blur sigma_x", f64::MIN_POSITIVE)?;
                sigma_y.check("blur sigma_y", f64::MIN_POSITIVE)?;
                rotation.check("blur rotation", f64::MIN)
            }
            Step::Resize { scale, modes } => {
                if modes.is_empty() {
                    return Err(ImageError::InvalidArgument(
                        "resize needs at least one mode".into(),
                    ));
                }
                scale.check("resize scale", f64::MIN_POSITIVE)
            }
            Step::GaussianNoise { sigma, gray_prob } => {
                check_probability("gray_prob", *gray_prob)?;
                sigma.check("noise sigma", 0.0)
            }
            Step::PoissonNoise { scale, gray_prob } => {
                check_probability("gray_prob", *gray_prob)?;
                scale.check("Poisson scale", 0.0)
            }
            Step::Jpeg { quality } => quality.check(),
            Step::Quantize => Ok(()),
            Step::RealEsrgan(config) => config.check(),
        }
    }

    /// Draws this step's parameters for an input of `width` x `height` (the size at the
    /// start of the pipeline).
    pub fn sample<R: Rng + ?Sized>(
        &self,
        rng: &mut R,
        width: usize,
        height: usize,
    ) -> Result<Vec<Op>> {
        self.check()?;
        let op = match self {
            Step::Downscale { scale } => Op::Downscale { scale: *scale },
            Step::Blur { sigma, kernel_size } => Op::Blur {
                kernel: Kernel::isotropic_gaussian(*kernel_size, sigma.sample(rng))?,
                border: Border::Reflect,
            },
            Step::AnisotropicBlur {
                sigma_x,
                sigma_y,
                rotation,
                kernel_size,
            } => {
                let (sx, sy) = (sigma_x.sample(rng), sigma_y.sample(rng));
                Op::Blur {
                    kernel: Kernel::gaussian(*kernel_size, sx, sy, rotation.sample(rng))?,
                    border: Border::Reflect,
                }
            }
            Step::Resize { scale, modes } => Op::Resize {
                size: Size::Factor(scale.sample(rng)),
                mode: pick(modes, rng),
            },
            Step::GaussianNoise { sigma, gray_prob } => Op::GaussianNoise {
                sigma: sigma.sample(rng),
                gray: rng.random_bool(*gray_prob),
            },
            Step::PoissonNoise { scale, gray_prob } => Op::PoissonNoise {
                scale: scale.sample(rng),
                gray: rng.random_bool(*gray_prob),
            },
            Step::Jpeg { quality } => Op::Jpeg {
                quality: quality.sample(rng),
            },
            Step::Quantize => Op::Quantize,
            Step::RealEsrgan(config) => return config.sample(rng, width, height),
        };
        Ok(vec![op])
    }
}

/// One of `items` (non-empty), uniformly.
pub(super) fn pick<T: Copy, R: Rng + ?Sized>(items: &[T], rng: &mut R) -> T {
    items[rng.random_range(0..items.len())]
}

/// Degradation steps applied in order, each with freshly drawn parameters.
///
/// ```toml
/// [[steps]]
/// type = "blur"
/// sigma = [0.2, 3.0]
///
/// [[steps]]
/// type = "downscale"
/// scale = 4
///
/// [[steps]]
/// type = "gaussian_noise"
/// sigma = [1.0, 30.0]
/// gray_prob = 0.4
///
/// [[steps]]
/// type = "jpeg"
/// quality = [30, 95]
/// ```
#[derive(Clone, Debug, Default, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Pipeline {
    pub steps: Vec<Step>,
}

impl Pipeline {
    pub fn check(&self) -> Result<()> {
        self.steps.iter().try_for_each(Step::check)
    }

    /// Draws the concrete operations for an input of `width` x `height`.
    pub fn sample<R: Rng + ?Sized>(
        &self,
        rng: &mut R,
        width: usize,
        height: usize,
    ) -> Result<Vec<Op>> {
        // Every step first, so that a bad recipe fails before anything is drawn.
        self.check()?;
        let mut ops = Vec::new();
        for step in &self.steps {
            ops.extend(step.sample(rng, width, height)?);
        }
        Ok(ops)
    }

    /// Draws the operations and applies them to `image`.
    pub fn apply<R: Rng + ?Sized>(&self, image: &Image, rng: &mut R) -> Result<Image> {
        let ops = self.sample(rng, image.width(), image.height())?;
        apply_all(&ops, image, rng)
    }

    /// [`Pipeline::apply`] with a ChaCha8 generator seeded from `seed`: the same seed gives
    /// the same output on every platform.
    pub fn apply_seeded(&self, image: &Image, seed: u64) -> Result<Image> {
        self.apply(image, &mut ChaCha8Rng::seed_from_u64(seed))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::buffer::{Depth, Layout};

    fn texture(w: usize, h: usize) -> Image {
        let data = (0..w * h * 3)
            .map(|i| {
                let (x, y) = ((i / 3) % w, (i / 3) / w);
                (128.0 + 80.0 * ((x as f32 * 0.3).sin() * (y as f32 * 0.2 + i as f32 % 3.0).cos()))
                    .round()
            })
            .collect();
        Image::new(w, h, Layout::Rgb, Depth::U8, data).unwrap()
    }

    const RECIPE: &str = r#"
        [[steps]]
        type = "anisotropic_blur"
        sigma_x = [0.5, 2.0]
        sigma_y = [0.5, 2.0]
        kernel_size = 9

        [[steps]]
        type = "downscale"
        scale = 2

        [[steps]]
        type = "resize"
        scale = [0.8, 1.2]

        [[steps]]
        type = "gaussian_noise"
        sigma = [1.0, 30.0]
        gray_prob = 0.4

        [[steps]]
        type = "poisson_noise"
        scale = [0.05, 1.0]

        [[steps]]
        type = "jpeg"
        quality = [30, 95]

        [[steps]]
        type = "quantize"
    "#;

    #[test]
    fn recipes_read_from_toml() {
        let p: Pipeline = toml::from_str(RECIPE).unwrap();
        assert_eq!(p.steps.len(), 7);
        assert_eq!(
            p.steps[0],
            Step::AnisotropicBlur {
                sigma_x: Range(0.5, 2.0),
                sigma_y: Range(0.5, 2.0),
                rotation: Range(-PI, PI),
                kernel_size: 9
            }
        );
        assert_eq!(
            p.steps[2],
            Step::Resize {
                scale: Range(0.8, 1.2),
                modes: ResizeMode::REAL_ESRGAN.to_vec()
            }
        );
        let back: Pipeline = toml::from_str(&toml::to_string(&p).unwrap()).unwrap();
        assert_eq!(back, p);
        assert!(toml::from_str::<Pipeline>("[[steps]]\ntype = \"sharpen\"").is_err());
    }

    #[test]
    fn same_seed_same_output_other_seed_other_output() {
        let p: Pipeline = toml::from_str(RECIPE).unwrap();
        let img = texture(64, 48);
        let a = p.apply_seeded(&img, 11).unwrap();
        assert_eq!(a, p.apply_seeded(&img, 11).unwrap());
        assert_ne!(a, p.apply_seeded(&img, 12).unwrap());
    }

    #[test]
    fn jpeg_quality_stays_in_its_range() {
        let p = Pipeline {
            steps: vec![Step::Jpeg {
                quality: QualityRange(30, 95),
            }],
        };
        let mut rng = ChaCha8Rng::seed_from_u64(5);
        let mut seen = [false; 101];
        for _ in 0..5000 {
            match p.sample(&mut rng, 8, 8).unwrap().as_slice() {
                [Op::Jpeg { quality }] => seen[usize::from(*quality)] = true,
                other => panic!("unexpected {other:?}"),
            }
        }
        let drawn: Vec<usize> = (0..=100).filter(|&q| seen[q]).collect();
        assert_eq!(drawn, (30..=95).collect::<Vec<_>>());
    }

    #[test]
    fn sampled_parameters_stay_in_their_ranges() {
        let p = Pipeline {
            steps: vec![
                Step::GaussianNoise {
                    sigma: Range(2.0, 3.0),
                    gray_prob: 0.0,
                },
                Step::Resize {
                    scale: Range(0.5, 0.6),
                    modes: vec![ResizeMode::Area],
                },
            ],
        };
        let mut rng = ChaCha8Rng::seed_from_u64(9);
        for _ in 0..1000 {
            for op in p.sample(&mut rng, 8, 8).unwrap() {
                match op {
                    Op::GaussianNoise { sigma, gray } => {
                        assert!((2.0..=3.0).contains(&sigma) && !gray)
                    }
                    Op::Resize {
                        size: Size::Factor(f),
                        mode: ResizeMode::Area,
                    } => assert!((0.5..=0.6).contains(&f)),
                    other => panic!("unexpected {other:?}"),
                }
            }
        }
    }

    #[test]
    fn bad_recipes_are_errors_not_panics() {
        let img = texture(16, 16);
        for step in [
            Step::Blur {
                sigma: Range(2.0, 1.0),
                kernel_size: 7,
            },
            Step::Blur {
                sigma: Range(1.0, 2.0),
                kernel_size: 8,
            },
            Step::GaussianNoise {
                sigma: Range(1.0, 2.0),
                gray_prob: 1.5,
            },
            Step::Jpeg {
                quality: QualityRange(0, 50),
            },
            Step::Resize {
                scale: Range(0.5, 1.0),
                modes: vec![],
            },
            Step::Downscale { scale: 0.0 },
        ] {
            let p = Pipeline { steps: vec![step] };
            assert!(p.apply_seeded(&img, 0).is_err(), "{p:?}");
        }
    }
}
