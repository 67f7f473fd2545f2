//! Helpers shared by the kernels' tests: reference definitions and test data.

/// A plain NCHW convolution, the definition.
pub(crate) fn reference_conv(
    x: &[f32],
    [n, c, h, w]: [usize; 4],
    weight: &[f32],
    bias: &[f32],
    co: usize,
    k: usize,
    p: usize,
) -> Vec<f32> {
    let (ho, wo) = (h + 2 * p + 1 - k, w + 2 * p + 1 - k);
    let mut out = vec![0.0f32; n * co * ho * wo];
    for img in 0..n {
        for o in 0..co {
            for y in 0..ho {
                for xo in 0..wo {
                    let mut acc = bias[o] as f64;
                    for i in 0..c {
                        for ky in 0..k {
                            for kx in 0..k {
                                let (ys, xs) = (
                                    (y + ky) as isize - p as isize,
                                    (xo + kx) as isize - p as isize,
                                );
                                if ys < 0 || xs < 0 || ys >= h as isize || xs >= w as isize {
                                    continue;
                                }
                                let v = x[((img * c + i) * h + ys as usize) * w + xs as usize];
                                acc += (v * weight[((o * c + i) * k + ky) * k + kx]) as f64;
                            }
                        }
                    }
                    out[((img * co + o) * ho + y) * wo + xo] = acc as f32;
                }
            }
        }
    }
    out
}

pub(crate) fn values(len: usize, seed: u32) -> Vec<f32> {
    // A small deterministic generator; values in [-1, 1).
    let mut state = seed.wrapping_mul(2_654_435_761).wrapping_add(1);
    (0..len)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 17;
            state ^= state << 5;
            (state as f32 / u32::MAX as f32) * 2.0 - 1.0
        })
        .collect()
}

pub(crate) fn max_diff(a: &[f32], b: &[f32]) -> f32 {
    assert_eq!(a.len(), b.len());
    a.iter()
        .zip(b)
        .map(|(x, y)| (x - y).abs())
        .fold(0.0, f32::max)
}
