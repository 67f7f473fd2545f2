//! Additive noise: Gaussian (read noise) and Poisson (shot noise), per color channel or shared
//! by all of them ("gray" noise), after BasicSR's `degradations.py` as Real-ESRGAN uses it.

use crate::buffer::Image;
use crate::error::{ImageError, Result};
use rand::Rng;
use rand_distr::{Distribution, Poisson, StandardNormal};

/// Adds zero-mean Gaussian noise of standard deviation `sigma` on the 0..255 scale (rescaled
/// for 16-bit images) to the color channels, then clips to the valid range. With `gray`, one
/// draw per pixel is added to every color channel. Alpha is left alone.
pub fn add_gaussian_noise<R: Rng + ?Sized>(
    image: &Image,
    sigma: f64,
    gray: bool,
    rng: &mut R,
) -> Result<Image> {
    if !(sigma.is_finite() && sigma >= 0.0) {
        return Err(ImageError::InvalidArgument(format!(
            "noise sigma must be non-negative, got {sigma}"
        )));
    }
    let max = image.depth().max_value();
    let sigma = sigma * f64::from(max) / 255.0;
    let mut draw = || {
        let n: f64 = StandardNormal.sample(rng);
        sigma * n
    };
    Ok(add_per_pixel(image, gray, |_| draw()))
}

/// Adds Real-ESRGAN's Poisson noise times `scale` to the color channels, then clips.
///
/// As BasicSR's `generate_poisson_noise_pt`: the image (or, with `gray`, its luma
/// `0.2989 R + 0.587 G + 0.114 B`) is rounded to 8 bits, `vals = 2^ceil(log2(distinct
/// values))` photon levels are assumed, and the noise is `Poisson(v * vals) / vals - v`
/// (v in 0..1), scaled and added to the unrounded image.
pub fn add_poisson_noise<R: Rng + ?Sized>(
    image: &Image,
    scale: f64,
    gray: bool,
    rng: &mut R,
) -> Result<Image> {
    if !(scale.is_finite() && scale >= 0.0) {
        return Err(ImageError::InvalidArgument(format!(
            "Poisson noise scale must be non-negative, got {scale}"
        )));
    }
    let max = image.depth().max_value();
    let colors = image.layout().color_channels();
    let to_level = |v: f64| (v / f64::from(max) * 255.0).round().clamp(0.0, 255.0) as usize;
    // The 8-bit level of every sample the noise is drawn for: one per color sample, or one
    // (the luma) per pixel.
    let levels: Vec<usize> = image
        .data()
        .chunks_exact(image.channels())
        .flat_map(|px| {
            let px = &px[..colors];
            let luma = (gray && colors == 3).then(|| {
                0.2989 * f64::from(px[0]) + 0.587 * f64::from(px[1]) + 0.114 * f64::from(px[2])
            });
            let per_channel = px.iter().take(if gray { 1 } else { colors });
            per_channel.map(move |&v| to_level(luma.unwrap_or(f64::from(v))))
        })
        .collect();
    let mut seen = [false; 256];
    levels.iter().for_each(|&l| seen[l] = true);
    let distinct = seen.iter().filter(|&&s| s).count().max(1);
    let vals = (distinct as f64).log2().ceil().exp2();
    // The image takes at most 256 levels, so one distribution per level serves every pixel.
    let dists: Vec<Option<Poisson<f64>>> = (0..256)
        .map(|l| {
            let lambda = l as f64 / 255.0 * vals;
            if lambda > 0.0 {
                Poisson::new(lambda)
                    .map(Some)
                    .map_err(|e| ImageError::InvalidArgument(format!("Poisson rate {lambda}: {e}")))
            } else {
                Ok(None)
            }
        })
        .collect::<Result<_>>()?;
    let unit = scale * f64::from(max);
    let mut next = levels.iter();
    Ok(add_per_pixel(image, gray, |_| {
        let level = next.next().copied().unwrap_or(0);
        let count = dists[level].as_ref().map_or(0.0, |d| d.sample(rng));
        unit * (count / vals - level as f64 / 255.0)
    }))
}

/// Adds `noise(channel)` to every color sample (one draw per pixel shared by all color
/// channels when `gray`) and clips to the depth's range.
fn add_per_pixel(image: &Image, gray: bool, mut noise: impl FnMut(usize) -> f64) -> Image {
    let max = image.depth().max_value();
    let colors = image.layout().color_channels();
    let channels = image.channels();
    let mut out = image.clone();
    for px in out.data_mut().chunks_exact_mut(channels) {
        let shared = gray.then(|| noise(0));
        for (c, v) in px[..colors].iter_mut().enumerate() {
            let n = shared.unwrap_or_else(|| noise(c));
            *v = (f64::from(*v) + n).clamp(0.0, f64::from(max)) as f32;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::buffer::{Depth, Layout};
    use rand::SeedableRng;
    use rand::rngs::ChaCha8Rng;

    fn flat(w: usize, h: usize, layout: Layout, depth: Depth, v: f32) -> Image {
        Image::new(w, h, layout, depth, vec![v; w * h * layout.channels()]).unwrap()
    }

    fn std_of_difference(a: &Image, b: &Image) -> f64 {
        let d: Vec<f64> = a
            .data()
            .iter()
            .zip(b.data())
            .map(|(x, y)| f64::from(x - y))
            .collect();
        let mean = d.iter().sum::<f64>() / d.len() as f64;
        (d.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / d.len() as f64).sqrt()
    }

    #[test]
    fn gaussian_noise_has_its_sigma() {
        let mut rng = ChaCha8Rng::seed_from_u64(7);
        for (depth, unit) in [(Depth::U8, 1.0), (Depth::U16, 257.0)] {
            for sigma in [5.0, 15.0, 30.0] {
                let img = flat(256, 256, Layout::Rgb, depth, 128.0 * unit as f32);
                let noisy = add_gaussian_noise(&img, sigma, false, &mut rng).unwrap();
                let got = std_of_difference(&noisy, &img) / unit;
                eprintln!("{depth:?} sigma {sigma}: measured {got:.3}");
                assert!(
                    (got - sigma).abs() < 0.03 * sigma,
                    "{depth:?}: {got} vs {sigma}"
                );
            }
        }
    }

    #[test]
    fn gray_noise_is_identical_across_channels_and_color_noise_is_not() {
        let mut rng = ChaCha8Rng::seed_from_u64(1);
        let img = flat(64, 64, Layout::Rgba, Depth::U8, 100.0);
        let gray = [
            add_gaussian_noise(&img, 20.0, true, &mut rng).unwrap(),
            add_poisson_noise(&img, 2.0, true, &mut rng).unwrap(),
        ];
        for out in &gray {
            assert!(
                out.data()
                    .chunks_exact(4)
                    .all(|p| p[0] == p[1] && p[1] == p[2])
            );
            assert!(
                out.data().chunks_exact(4).all(|p| p[3] == 100.0),
                "alpha kept"
            );
            assert!(out.data().chunks_exact(4).any(|p| p[0] != 100.0));
        }
        let color = add_gaussian_noise(&img, 20.0, false, &mut rng).unwrap();
        assert!(color.data().chunks_exact(4).any(|p| p[0] != p[1]));
    }

    #[test]
    fn poisson_noise_follows_the_photon_count() {
        // 256 distinct levels: vals = 256 photons at full scale, so a pixel at v (0..1) gets
        // noise of variance v / 256 (times scale^2).
        let (w, h) = (256, 200);
        let data: Vec<f32> = (0..w * h).map(|i| (i % w) as f32).collect();
        let img = Image::new(w, h, Layout::Gray, Depth::U8, data).unwrap();
        let scale = 0.5;
        let out = add_poisson_noise(&img, scale, false, &mut ChaCha8Rng::seed_from_u64(3)).unwrap();
        // Mid levels only, where clipping cannot bite.
        for level in [32usize, 96, 160] {
            let d: Vec<f64> = (0..h)
                .map(|y| f64::from(out.pixel(level, y)[0] - img.pixel(level, y)[0]) / 255.0)
                .collect();
            let mean = d.iter().sum::<f64>() / h as f64;
            let var = d.iter().map(|v| v * v).sum::<f64>() / h as f64;
            let want = scale * scale * (level as f64 / 255.0) / 256.0;
            assert!(
                mean.abs() < 4.0 * (want / h as f64).sqrt(),
                "{level}: mean {mean}"
            );
            assert!((var / want - 1.0).abs() < 0.3, "{level}: {var} vs {want}");
        }
    }

    #[test]
    fn noise_clips_and_rejects_bad_parameters() {
        let mut rng = ChaCha8Rng::seed_from_u64(0);
        let img = flat(32, 32, Layout::Rgb, Depth::U8, 250.0);
        let out = add_gaussian_noise(&img, 50.0, false, &mut rng).unwrap();
        assert!(out.data().iter().all(|v| (0.0..=255.0).contains(v)));
        assert!(add_gaussian_noise(&img, -1.0, false, &mut rng).is_err());
        assert!(add_poisson_noise(&img, f64::NAN, false, &mut rng).is_err());
    }
}
