//! PSNR and SSIM on planes of f64 samples on a 0..255 scale.

/// Peak signal-to-noise ratio in dB with peak 255; infinite for identical inputs.
pub fn psnr(a: &[f64], b: &[f64]) -> f64 {
    assert_eq!(a.len(), b.len(), "psnr of planes of different sizes");
    let mse = a.iter().zip(b).map(|(x, y)| (x - y) * (x - y)).sum::<f64>() / a.len() as f64;
    10.0 * (255.0 * 255.0 / mse).log10()
}

/// Mean SSIM of two `width` x `height` planes, as Wang et al. define it and the SR papers
/// compute it: an 11x11 Gaussian window with sigma 1.5, K1 = 0.01, K2 = 0.03, L = 255, and
/// only the window positions that lie fully inside the image ("valid").
pub fn ssim(a: &[f64], b: &[f64], width: usize, height: usize) -> f64 {
    const RADIUS: usize = 5;
    const SIGMA: f64 = 1.5;
    assert_eq!(a.len(), width * height, "ssim plane size");
    assert_eq!(b.len(), width * height, "ssim plane size");
    if width <= 2 * RADIUS || height <= 2 * RADIUS {
        return f64::NAN;
    }
    let c1 = (0.01f64 * 255.0).powi(2);
    let c2 = (0.03f64 * 255.0).powi(2);
    let window = gaussian_window(RADIUS, SIGMA);
    let product =
        |f: fn(f64, f64) -> f64| a.iter().zip(b).map(|(&x, &y)| f(x, y)).collect::<Vec<_>>();
    let blur = |plane: &[f64]| filter_valid(plane, width, height, &window);
    let mu_a = blur(a);
    let mu_b = blur(b);
    let aa = blur(&product(|x, _| x * x));
    let bb = blur(&product(|_, y| y * y));
    let ab = blur(&product(|x, y| x * y));
    let n = mu_a.len();
    let mut total = 0.0;
    for i in 0..n {
        let (ma, mb) = (mu_a[i], mu_b[i]);
        let var_a = aa[i] - ma * ma;
        let var_b = bb[i] - mb * mb;
        let cov = ab[i] - ma * mb;
        total += ((2.0 * ma * mb + c1) * (2.0 * cov + c2))
            / ((ma * ma + mb * mb + c1) * (var_a + var_b + c2));
    }
    total / n as f64
}

/// The normalised 1-D Gaussian whose outer product is MATLAB's `fspecial('gaussian', 11, 1.5)`.
fn gaussian_window(radius: usize, sigma: f64) -> Vec<f64> {
    let r = radius as f64;
    let w: Vec<f64> = (0..=2 * radius)
        .map(|i| (-((i as f64 - r).powi(2)) / (2.0 * sigma * sigma)).exp())
        .collect();
    let sum: f64 = w.iter().sum();
    w.into_iter().map(|v| v / sum).collect()
}

/// Separable 'valid' correlation with a symmetric kernel.
fn filter_valid(plane: &[f64], width: usize, height: usize, kernel: &[f64]) -> Vec<f64> {
    let k = kernel.len();
    let (ow, oh) = (width + 1 - k, height + 1 - k);
    let mut rows = vec![0.0; ow * height];
    for y in 0..height {
        let src = &plane[y * width..(y + 1) * width];
        for x in 0..ow {
            rows[y * ow + x] = kernel.iter().zip(&src[x..x + k]).map(|(w, v)| w * v).sum();
        }
    }
    let mut out = vec![0.0; ow * oh];
    for y in 0..oh {
        for (t, w) in kernel.iter().enumerate() {
            let src = &rows[(y + t) * ow..(y + t + 1) * ow];
            for (o, v) in out[y * ow..(y + 1) * ow].iter_mut().zip(src) {
                *o += w * v;
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn noise(n: usize, seed: u64) -> Vec<f64> {
        let mut s = seed;
        (0..n)
            .map(|_| {
                s = s
                    .wrapping_mul(6364136223846793005)
                    .wrapping_add(1442695040888963407);
                ((s >> 33) % 256) as f64
            })
            .collect()
    }

    #[test]
    fn psnr_of_a_known_error() {
        // An error of 1 everywhere is an MSE of 1: 20 log10(255) = 48.1308 dB.
        let a = vec![10.0; 100];
        let b = vec![11.0; 100];
        assert!((psnr(&a, &b) - 48.130_803_608_679_1).abs() < 1e-9);
        assert!(psnr(&a, &a).is_infinite());
    }

    #[test]
    fn ssim_is_one_for_identical_and_symmetric() {
        let a = noise(40 * 30, 1);
        let b = noise(40 * 30, 2);
        assert!((ssim(&a, &a, 40, 30) - 1.0).abs() < 1e-12);
        assert!((ssim(&a, &b, 40, 30) - ssim(&b, &a, 40, 30)).abs() < 1e-12);
        assert!(ssim(&a, &b, 40, 30) < 0.1);
    }

    #[test]
    fn ssim_of_constant_planes_reduces_to_the_luminance_term() {
        // With zero variance everywhere SSIM = (2 m1 m2 + C1) / (m1^2 + m2^2 + C1).
        let (w, h) = (16, 12);
        let a = vec![100.0; w * h];
        let b = vec![120.0; w * h];
        let c1 = (0.01f64 * 255.0).powi(2);
        let want = (2.0 * 100.0 * 120.0 + c1) / (100.0f64.powi(2) + 120.0f64.powi(2) + c1);
        assert!((ssim(&a, &b, w, h) - want).abs() < 1e-12);
    }

    #[test]
    fn window_matches_fspecial() {
        // fspecial('gaussian', 11, 1.5): centre 0.0707622, edge midpoint 0.000273561 (2-D).
        let w = gaussian_window(5, 1.5);
        assert!((w[5] * w[5] - 0.070_762_2).abs() < 1e-7);
        assert!((w[0] * w[5] - 0.000_273_561).abs() < 1e-9);
    }
}
