//! GPTQ weight rounding for INT8 convolutions: "GPTQ: Accurate Post-Training Quantization for
//! Generative Pre-trained Transformers", Frantar et al., ICLR 2023,
//! <https://arxiv.org/abs/2210.17323>.
//!
//! Rounding each weight to its nearest step minimises each weight's error, not the output's.
//! GPTQ rounds an output channel's weights one at a time and moves the weights not yet rounded
//! to absorb each rounding error, in proportion to how the inputs they multiply correlate with
//! the rounded one's (the second moments of the input patches, [`PatchMoments`], gathered
//! while calibrating). The result is a set of `f32` weights exactly on the grid the engine
//! quantizes them to ([`upres_kernels::int8::weight_pairs`], [`PAIR_SUM`]), so a model file
//! keeps `f32` weights, the INT8 engine packs the rounding GPTQ chose, and other engines run
//! the same weights in `f32`.

use rayon::prelude::*;
use upres_kernels::FeatureMap;
use upres_kernels::int8::{PAIR_SUM, weight_pairs};

/// Patches sampled per recorded input map: over a calibration set of a dozen images, enough
/// for the second moments of a 3x3 patch of 64 channels (576 values); ESPCN's INT8 score is
/// the same with 4 times as many, which cost EDSR-baseline 40 s more to quantize.
const PATCHES_PER_INPUT: usize = 1024;

/// The damping GPTQ adds to the moments' diagonal, as a fraction of its mean, so that inputs
/// that never vary (dead channels, the zero border) leave them invertible.
const DAMPING: f64 = 0.01;

/// The second moments `Σ p pᵀ` of a convolution's input patches `p` (zero-padded, in the
/// weight's `[channels_in, kernel, kernel]` order), over output positions sampled from every
/// input recorded.
#[derive(Debug, Clone)]
pub struct PatchMoments {
    channels: usize,
    kernel: usize,
    pad: usize,
    /// `dim x dim`, row-major.
    sum: Vec<f64>,
    count: usize,
}

impl PatchMoments {
    /// No patches yet, of a convolution with this geometry.
    pub fn new(channels: usize, kernel: usize, pad: usize) -> Self {
        let dim = channels * kernel * kernel;
        Self {
            channels,
            kernel,
            pad,
            sum: vec![0.0; dim * dim],
            count: 0,
        }
    }

    fn dim(&self) -> usize {
        self.channels * self.kernel * self.kernel
    }

    /// The memory the moments of a convolution with this geometry take.
    pub fn bytes_for(channels: usize, kernel: usize) -> usize {
        (channels * kernel * kernel).pow(2) * size_of::<f64>()
    }

    /// The memory these moments take.
    pub fn bytes(&self) -> usize {
        Self::bytes_for(self.channels, self.kernel)
    }

    /// Adds the patches of up to [`PATCHES_PER_INPUT`] output positions of `x`, drawn by a
    /// fixed pseudo-random sequence (a regular stride could keep to a few columns).
    pub fn record(&mut self, x: &FeatureMap) {
        let (k, pad, c) = (self.kernel, self.pad, self.channels);
        assert_eq!(x.channels(), c, "input channels");
        let (h, w) = (x.height(), x.width());
        let (out_h, out_w) = (
            (h + 2 * pad + 1).saturating_sub(k),
            (w + 2 * pad + 1).saturating_sub(k),
        );
        let positions = x.batch() * out_h * out_w;
        if positions == 0 {
            return;
        }
        let mut state = 0x9e37_79b9_7f4a_7c15_u64 ^ positions as u64;
        let chosen: Vec<usize> = if positions <= PATCHES_PER_INPUT {
            (0..positions).collect()
        } else {
            (0..PATCHES_PER_INPUT)
                .map(|_| (splitmix64(&mut state) % positions as u64) as usize)
                .collect()
        };
        let dim = self.dim();
        let mut patches = vec![0.0f32; chosen.len() * dim];
        for (patch, &at) in patches.chunks_exact_mut(dim).zip(&chosen) {
            let (img, y, x0) = (at / (out_h * out_w), at / out_w % out_h, at % out_w);
            for ky in 0..k {
                let Some(sy) = (y + ky).checked_sub(pad).filter(|&sy| sy < h) else {
                    continue;
                };
                let row = x.row(img, sy);
                for kx in 0..k {
                    let Some(sx) = (x0 + kx).checked_sub(pad).filter(|&sx| sx < w) else {
                        continue;
                    };
                    for (i, &v) in row[sx * c..][..c].iter().enumerate() {
                        patch[(i * k + ky) * k + kx] = v;
                    }
                }
            }
        }
        let mut product = vec![0.0f32; dim * dim];
        let rows = chosen.len();
        // SAFETY: `patches` is `rows x dim` row-major, read as its transpose (`dim x rows`)
        // and as itself; `product` is `dim x dim` row-major; all three are that large.
        unsafe {
            gemm::gemm(
                dim,
                dim,
                rows,
                product.as_mut_ptr(),
                1,
                dim as isize,
                false,
                patches.as_ptr(),
                dim as isize,
                1,
                patches.as_ptr(),
                1,
                dim as isize,
                0.0,
                1.0,
                false,
                false,
                false,
                gemm::Parallelism::Rayon(0),
            );
        }
        for (sum, p) in self.sum.iter_mut().zip(&product) {
            *sum += f64::from(*p);
        }
        self.count += rows;
    }

    /// The mean of `p pᵀ` over the patches recorded.
    fn mean(&self) -> Vec<f64> {
        let n = self.count.max(1) as f64;
        self.sum.iter().map(|s| s / n).collect()
    }
}

fn splitmix64(state: &mut u64) -> u64 {
    *state = state.wrapping_add(0x9e37_79b9_7f4a_7c15);
    let mut z = *state;
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// `weight` (`[channels_out, channels_in, kernel, kernel]`) rounded by GPTQ onto the INT8
/// engine's grid, for inputs with these patch moments: every output channel's largest weight
/// pair is exactly [`PAIR_SUM`] steps (so that packing finds the same step) and no pair
/// exceeds it. Where the moments cannot be inverted, the weights are rounded to nearest onto
/// the same grid.
pub fn round_weights(weight: &[f32], channels_out: usize, moments: &PatchMoments) -> Vec<f32> {
    let dim = moments.dim();
    assert_eq!(weight.len(), channels_out * dim, "weight size");
    let pairs = weight_pairs(moments.channels, moments.kernel);
    // GPTQ's order: pair by pair, so that a pair's second weight sees its first's rounding.
    let order: Vec<usize> = pairs
        .iter()
        .flat_map(|&(a, b)| std::iter::once(a).chain(b))
        .collect();
    let second: Vec<bool> = pairs
        .iter()
        .flat_map(|&(_, b)| std::iter::once(false).chain(b.map(|_| true)))
        .collect();
    let mean = moments.mean();
    let mut h: Vec<f64> = order
        .iter()
        .flat_map(|&r| order.iter().map(move |&c| (r, c)))
        .map(|(r, c)| mean[r * dim + c])
        .collect();
    let diagonal = (0..dim).map(|i| h[i * dim + i]).sum::<f64>() / dim as f64;
    for i in 0..dim {
        h[i * dim + i] += DAMPING * diagonal;
    }
    let identity = || {
        let mut u = vec![0.0; dim * dim];
        (0..dim).for_each(|i| u[i * dim + i] = 1.0);
        u
    };
    // With the identity, no error moves: rounding to nearest.
    let u = (diagonal > 0.0)
        .then(|| inverse_cholesky_upper(&h, dim))
        .flatten()
        .unwrap_or_else(identity);
    let mut rounded = vec![0.0f32; weight.len()];
    rounded
        .par_chunks_mut(dim)
        .zip(weight.par_chunks(dim))
        .for_each(|(out, row)| {
            let row: Vec<f64> = order.iter().map(|&n| f64::from(row[n])).collect();
            for (j, q) in round_row(&row, &second, &u).into_iter().enumerate() {
                out[order[j]] = q;
            }
        });
    rounded
}

/// One output channel's weights (in GPTQ's order, `second[j]` when weight `j` is the second
/// of a pair) rounded with error feedback through `u`, returned as values on the grid.
fn round_row(row: &[f64], second: &[bool], u: &[f64]) -> Vec<f32> {
    let dim = row.len();
    let pair_sum = |j: usize| {
        row[j].abs()
            + if second.get(j + 1) == Some(&true) {
                row[j + 1].abs()
            } else {
                0.0
            }
    };
    // The pair that sets the step: it is rounded to exactly PAIR_SUM steps.
    let (first_of_largest, largest) = (0..dim)
        .filter(|&j| !second[j])
        .map(|j| (j, pair_sum(j)))
        .fold(
            (0, 0.0),
            |best, (j, s)| if s > best.1 { (j, s) } else { best },
        );
    if largest == 0.0 {
        return vec![0.0; dim];
    }
    let step = largest / f64::from(PAIR_SUM);
    let whole = f64::from(PAIR_SUM);
    let mut w = row.to_vec();
    let mut q = vec![0.0f64; dim];
    for j in 0..dim {
        let limit = if second[j] {
            whole - q[j - 1].abs()
        } else {
            whole
        };
        let sign = if w[j] < 0.0 { -1.0 } else { 1.0 };
        let paired = second.get(j + 1) == Some(&true);
        q[j] = if j == first_of_largest + 1 && second[j] {
            sign * limit
        } else if j == first_of_largest && !paired {
            sign * whole
        } else {
            (w[j] / step).round().clamp(-limit, limit)
        };
        let error = (w[j] - q[j] * step) / u[j * dim + j];
        for (wl, ul) in w[j + 1..]
            .iter_mut()
            .zip(&u[j * dim + j + 1..(j + 1) * dim])
        {
            *wl -= error * ul;
        }
    }
    q.iter().map(|&v| (v * step) as f32).collect()
}

/// The upper-triangular `U` with `H⁻¹ = Uᵀ U` (`dim x dim`, row-major), or `None` when `h`
/// is not positive definite.
///
/// With `J` the index reversal, the Cholesky factor `L` of `J H J` gives `H = V Vᵀ` for the
/// upper-triangular `V = J L J`, so `H⁻¹ = V⁻ᵀ V⁻¹` and `U = V⁻¹ = J L⁻¹ J`.
fn inverse_cholesky_upper(h: &[f64], dim: usize) -> Option<Vec<f64>> {
    let reversed = |i: usize| dim - 1 - i;
    let mut l = vec![0.0; dim * dim];
    for i in 0..dim {
        for j in 0..=i {
            let dot: f64 = (0..j).map(|k| l[i * dim + k] * l[j * dim + k]).sum();
            let value = h[reversed(i) * dim + reversed(j)] - dot;
            if i == j {
                // Not positive (or NaN): not positive definite.
                if value.is_nan() || value <= 0.0 {
                    return None;
                }
                l[i * dim + i] = value.sqrt();
            } else {
                l[i * dim + j] = value / l[j * dim + j];
            }
        }
    }
    // L⁻¹ column by column, each column stored as a row of `inverse_t`.
    let mut inverse_t = vec![0.0; dim * dim];
    inverse_t
        .par_chunks_mut(dim)
        .enumerate()
        .for_each(|(j, column)| {
            column[j] = 1.0 / l[j * dim + j];
            for i in j + 1..dim {
                let dot: f64 = (j..i).map(|k| l[i * dim + k] * column[k]).sum();
                column[i] = -dot / l[i * dim + i];
            }
        });
    let mut u = vec![0.0; dim * dim];
    for i in 0..dim {
        for j in i..dim {
            u[i * dim + j] = inverse_t[reversed(j) * dim + reversed(i)];
        }
    }
    Some(u)
}

#[cfg(test)]
mod tests {
    use super::*;
    use upres_kernels::{QuantizedConv, Quantizer};

    /// Deterministic values in [-1, 1).
    fn noise(n: usize, seed: u64) -> Vec<f32> {
        let mut state = seed;
        (0..n)
            .map(|_| (splitmix64(&mut state) >> 40) as f32 / (1u64 << 23) as f32 - 1.0)
            .collect()
    }

    #[test]
    fn inverse_cholesky_factor_inverts() {
        let dim = 7;
        let a: Vec<f64> = noise(dim * dim, 1).into_iter().map(f64::from).collect();
        // A Aᵀ + I is positive definite.
        let mut h = vec![0.0; dim * dim];
        for i in 0..dim {
            for j in 0..dim {
                h[i * dim + j] = (0..dim)
                    .map(|k| a[i * dim + k] * a[j * dim + k])
                    .sum::<f64>()
                    + f64::from(u8::from(i == j));
            }
        }
        let u = inverse_cholesky_upper(&h, dim).unwrap();
        for i in 0..dim {
            for j in 0..i {
                assert_eq!(u[i * dim + j], 0.0, "upper triangular");
            }
        }
        // Uᵀ U H = I.
        for i in 0..dim {
            for j in 0..dim {
                let uu = |r: usize, c: usize| {
                    (0..dim)
                        .map(|k| u[k * dim + r] * u[k * dim + c])
                        .sum::<f64>()
                };
                let value: f64 = (0..dim).map(|k| uu(i, k) * h[k * dim + j]).sum();
                assert!(
                    (value - f64::from(u8::from(i == j))).abs() < 1e-9,
                    "({i}, {j}): {value}"
                );
            }
        }
        h[0] = -1.0;
        assert!(inverse_cholesky_upper(&h, dim).is_none());
    }

    /// `x` (`[channels, height, width]`) as one NHWC map.
    fn map(x: &[f32], c: usize, height: usize, width: usize) -> FeatureMap {
        FeatureMap::from_nchw(1, c, height, width, x, 1)
    }

    /// The zero-padded `k x k` patch at output `(y, x)`, in `[c, k, k]` order, read from the
    /// NCHW values directly.
    fn patch(
        x: &[f32],
        [c, h, w]: [usize; 3],
        k: usize,
        pad: usize,
        y: usize,
        x0: usize,
    ) -> Vec<f64> {
        let mut p = Vec::new();
        for i in 0..c {
            for ky in 0..k {
                for kx in 0..k {
                    let (sy, sx) = (
                        (y + ky) as isize - pad as isize,
                        (x0 + kx) as isize - pad as isize,
                    );
                    let inside = (0..h as isize).contains(&sy) && (0..w as isize).contains(&sx);
                    p.push(if inside {
                        f64::from(x[(i * h + sy as usize) * w + sx as usize])
                    } else {
                        0.0
                    });
                }
            }
        }
        p
    }

    #[test]
    fn moments_sum_the_outer_products_of_every_patch() {
        let (c, h, w, k, pad) = (3, 4, 5, 3, 1);
        let x = noise(c * h * w, 2);
        let mut moments = PatchMoments::new(c, k, pad);
        moments.record(&map(&x, c, h, w));
        moments.record(&map(&x, c, h, w));
        assert_eq!(moments.count, 2 * h * w);
        let dim = c * k * k;
        let mut expected = vec![0.0; dim * dim];
        for y in 0..h {
            for x0 in 0..w {
                let p = patch(&x, [c, h, w], k, pad, y, x0);
                for r in 0..dim {
                    for col in 0..dim {
                        expected[r * dim + col] += 2.0 * p[r] * p[col];
                    }
                }
            }
        }
        for (got, want) in moments.sum.iter().zip(&expected) {
            assert!((got - want).abs() < 1e-4, "{got} vs {want}");
        }
    }

    /// `Σ ((W - Ŵ) p)²` over the patches of `x`: the output error the rounding causes.
    fn output_error(weight: &[f32], rounded: &[f32], patches: &[Vec<f64>], dim: usize) -> f64 {
        weight
            .chunks(dim)
            .zip(rounded.chunks(dim))
            .map(|(w, r)| {
                patches
                    .iter()
                    .map(|p| {
                        let e: f64 = (0..dim).map(|n| f64::from(w[n] - r[n]) * p[n]).sum();
                        e * e
                    })
                    .sum::<f64>()
            })
            .sum()
    }

    #[test]
    fn gptq_lands_on_the_engine_grid_and_beats_nearest() {
        // 16 channels of a smooth random image, so that neighbouring inputs correlate.
        let (c, co, h, w, k, pad) = (16, 6, 12, 12, 3, 1);
        let coarse = noise(c * 4 * 4, 3);
        let x: Vec<f32> = (0..c * h * w)
            .map(|n| {
                let (i, y, x0) = (n / (h * w), n / w % h, n % w);
                coarse[(i * 4 + y / 3) * 4 + x0 / 3] + 0.1 * noise(1, n as u64)[0]
            })
            .collect();
        let mut moments = PatchMoments::new(c, k, pad);
        moments.record(&map(&x, c, h, w));
        let weight = noise(co * c * k * k, 4);
        let rounded = round_weights(&weight, co, &moments);

        // The engine quantizes the rounded weights to themselves, on one step per channel.
        let pack = |w: &[f32]| {
            QuantizedConv::new(w, None, co, c, k, pad, Quantizer::from_range(-1.0, 1.0))
        };
        let (conv, nearest) = (pack(&rounded), pack(&weight));
        let dim = c * k * k;
        let mut nearest_values = vec![0.0f32; weight.len()];
        for o in 0..co {
            let step = conv.weight_step(o);
            assert!(
                (step / nearest.weight_step(o) - 1.0).abs() < 1e-5,
                "the step is kept"
            );
            for i in 0..c {
                for ky in 0..k {
                    for kx in 0..k {
                        let n = o * dim + (i * k + ky) * k + kx;
                        let q = f32::from(conv.weight(o, i, ky, kx));
                        assert!(
                            (rounded[n] - q * step).abs() <= 1e-4 * step,
                            "weight {n}: {} vs {q} steps",
                            rounded[n] / step
                        );
                        nearest_values[n] =
                            f32::from(nearest.weight(o, i, ky, kx)) * nearest.weight_step(o);
                    }
                }
            }
        }
        let patches: Vec<Vec<f64>> = (0..h)
            .flat_map(|y| (0..w).map(move |x0| (y, x0)))
            .map(|(y, x0)| patch(&x, [c, h, w], k, pad, y, x0))
            .collect();
        let gptq = output_error(&weight, &rounded, &patches, dim);
        let plain = output_error(&weight, &nearest_values, &patches, dim);
        assert!(gptq < 0.5 * plain, "GPTQ {gptq} vs nearest {plain}");
    }
}
