//! Convolutions on [`FeatureMap`]s.
//!
//! A stride-1 convolution is computed directly on the padded NHWC input, without an im2col
//! copy: the `k` pixels an output pixel sees in kernel row `ky` are contiguous, `k * c`
//! values starting at flat pixel `(y + ky) * wp + x` (`wp` the padded width). The
//! micro-kernel computes 3 consecutive output pixels x 4 output channels as 12 dot products
//! over those spans, 8 values per AVX2 vector: both operands are plain contiguous loads, so
//! the FMA units never wait on broadcasts (which take an FP pipe on some CPUs), and an RGB
//! input (`k * c` = 15 for 5x5) wastes one lane in 16 rather than 5 in 8.

use rayon::prelude::*;

use crate::feature::{BORDER, FeatureMap};
use crate::simd::simd_fn;

/// Output channels per micro-tile (also the INT8 kernel's).
pub(crate) const GROUP: usize = 4;
/// Consecutive output pixels per micro-tile (also the INT8 kernel's).
pub(crate) const TILE: usize = 3;
/// Values per vector.
const VECTOR: usize = 8;
/// Output pixels a thread's task aims at: its input rows then stay in L2 while every group
/// of output channels sweeps them.
const TASK_PIXELS: usize = 512;

/// Convolution weights packed for the micro-kernel: output channels in groups of 4 (the last
/// zero-filled), then channel, kernel row, and the row's span of kernel column x input
/// channel, zero-filled to a multiple of 8.
#[derive(Debug, Clone)]
pub struct PackedConv {
    channels_in: usize,
    channels_out: usize,
    kernel: usize,
    pad: usize,
    /// `kernel * channels_in` rounded up to a multiple of [`VECTOR`].
    span: usize,
    weights: Vec<f32>,
    bias: Vec<f32>,
}

impl PackedConv {
    /// Packs `weight` (`[channels_out, channels_in, kernel, kernel]`, the PyTorch and burn
    /// layout) and `bias` for a stride-1, undilated, ungrouped convolution with `pad` zero
    /// pixels on every side.
    pub fn new(
        weight: &[f32],
        bias: Option<&[f32]>,
        channels_out: usize,
        channels_in: usize,
        kernel: usize,
        pad: usize,
    ) -> Self {
        let span = (kernel * channels_in).next_multiple_of(VECTOR);
        let padded_out = channels_out.next_multiple_of(GROUP);
        let packed = pack_spans(weight, channels_out, channels_in, kernel, span, padded_out);
        let mut padded_bias = vec![0.0; padded_out];
        if let Some(bias) = bias {
            assert_eq!(bias.len(), channels_out, "bias size");
            padded_bias[..channels_out].copy_from_slice(bias);
        }
        Self {
            channels_in,
            channels_out,
            kernel,
            pad,
            span,
            weights: packed,
            bias: padded_bias,
        }
    }

    /// Output channels.
    pub fn channels_out(&self) -> usize {
        self.channels_out
    }

    /// Packed values per output channel.
    fn channel_len(&self) -> usize {
        self.kernel * self.span
    }
}

/// `weight` (`[channels_out, channels_in, kernel, kernel]`, the PyTorch and burn layout)
/// rearranged for the dot-product micro-kernels: per output channel (`padded_out` of them,
/// the extra ones zero) and kernel row, the row's `kernel * channels_in` values in the order
/// an NHWC input holds them (kernel column, then input channel), zero-filled to `span`.
pub(crate) fn pack_spans(
    weight: &[f32],
    channels_out: usize,
    channels_in: usize,
    kernel: usize,
    span: usize,
    padded_out: usize,
) -> Vec<f32> {
    let k = kernel;
    assert_eq!(
        weight.len(),
        channels_out * channels_in * k * k,
        "weight size"
    );
    let mut packed = vec![0.0; padded_out * k * span];
    for o in 0..channels_out {
        for i in 0..channels_in {
            for ky in 0..k {
                for kx in 0..k {
                    packed[(o * k + ky) * span + kx * channels_in + i] =
                        weight[((o * channels_in + i) * k + ky) * k + kx];
                }
            }
        }
    }
    packed
}

/// The convolution of `x` by `conv`, with a border of [`BORDER`] on the output.
pub fn conv2d(x: FeatureMap, conv: &PackedConv) -> FeatureMap {
    assert_eq!(x.channels(), conv.channels_in, "input channels");
    // A wider border than the convolution's padding is read from further in.
    let x = if x.pad() >= conv.pad {
        x
    } else {
        x.with_pad(conv.pad)
    };
    let shift = x.pad() - conv.pad;
    let (c, k, co) = (conv.channels_in, conv.kernel, conv.channels_out);
    let wp = x.padded_width();
    let ho = x.height() + 2 * conv.pad + 1 - k;
    let wo = x.width() + 2 * conv.pad + 1 - k;
    let mut out = FeatureMap::for_overwrite(x.batch(), ho, wo, co, BORDER);
    // Where each kernel row's span starts, relative to the output pixel's position.
    let offsets: Vec<usize> = (0..k).map(|ky| ((ky + shift) * wp + shift) * c).collect();
    let geometry = Geometry {
        c,
        wp,
        wo,
        out_row: (wo + 2 * BORDER) * co,
    };
    // The input slices run to the end of the buffer: the vectors past a span's end read into
    // the next pixels, image or the slack, and multiply zero weights.
    let last_image = x.batch().saturating_sub(1) * x.image_len();
    let reach = (ho * wp + TILE) * c + offsets[offsets.len() - 1] + conv.span;
    assert!(
        last_image + reach <= x.raw().len(),
        "feature map slack too small for the kernel"
    );
    for_each_band(&mut out, wp, |img, y0, rows| {
        let input = &x.raw()[img * x.image_len()..];
        conv_rows(input, conv, &offsets, &geometry, y0, rows);
    });
    out
}

/// Calls `band(img, y0, rows)` in parallel on bands of consecutive output rows of every image
/// of `out`: `rows` holds the padded rows from interior row `y0` on. A band reads about
/// [`TASK_PIXELS`] pixels of input rows `wp` pixels wide, which then stay in L2 while every
/// group of output channels sweeps them.
pub(crate) fn for_each_band(
    out: &mut FeatureMap,
    wp: usize,
    band: impl Fn(usize, usize, &mut [f32]) + Sync,
) {
    let (ho, pad) = (out.height(), out.pad());
    let out_row = out.padded_width() * out.channels();
    let threads = rayon::current_num_threads();
    let rows_per_task = (TASK_PIXELS / wp).min(ho.div_ceil(2 * threads)).max(1);
    for img in 0..out.batch() {
        out.image_mut(img)[pad * out_row..(ho + pad) * out_row]
            .par_chunks_mut(rows_per_task * out_row)
            .enumerate()
            .for_each(|(task, rows)| band(img, task * rows_per_task, rows));
    }
}

/// Sizes shared by the tasks of one convolution.
pub(crate) struct Geometry {
    /// Input channels.
    pub(crate) c: usize,
    /// Padded input width.
    pub(crate) wp: usize,
    /// Output width.
    pub(crate) wo: usize,
    /// Values per padded output row.
    pub(crate) out_row: usize,
}

/// Output rows `y0..` (as many as `rows` holds): each group of 4 output channels (its
/// weights staying in L1) sweeps the rows 3 pixels at a time.
fn conv_rows(
    input: &[f32],
    conv: &PackedConv,
    offsets: &[usize],
    g: &Geometry,
    y0: usize,
    rows: &mut [f32],
) {
    let len = conv.channel_len();
    sweep_rows(g, conv.channels_out, y0, rows, |first, pixel, tile| {
        let weights = &conv.weights[first * len..][..GROUP * len];
        let bias = &conv.bias[first..][..GROUP];
        micro_tile(
            &input[pixel * g.c..],
            g.c,
            conv.span,
            offsets,
            weights,
            bias,
            tile,
        );
    });
}

/// The sweep the f32 and INT8 direct convolutions share: for each group of [`GROUP`] output
/// channels (its weights staying in L1), the output rows `y0..` that `rows` holds, [`TILE`]
/// pixels at a time. `tile(first, pixel, tile)` computes the group starting at channel `first`
/// for the [`TILE`] windows whose top-left corner is padded input pixel `pixel`.
pub(crate) fn sweep_rows(
    g: &Geometry,
    co: usize,
    y0: usize,
    rows: &mut [f32],
    mut tile_at: impl FnMut(usize, usize, &mut [[f32; GROUP]; TILE]),
) {
    let mut tile = [[0.0f32; GROUP]; TILE];
    for group in 0..co.div_ceil(GROUP) {
        let first = group * GROUP;
        let lanes = GROUP.min(co - first);
        for (y, row) in rows.chunks_exact_mut(g.out_row).enumerate() {
            let q = (y0 + y) * g.wp;
            for x in (0..g.wo).step_by(TILE) {
                tile_at(first, q + x, &mut tile);
                for (r, values) in tile.iter().enumerate().take(g.wo - x) {
                    let dst = (x + r + BORDER) * co + first;
                    row[dst..dst + lanes].copy_from_slice(&values[..lanes]);
                }
            }
        }
    }
}

/// `tile[r][j] = bias[j] + sum over kernel rows t and span values i < span of
/// input[r * c + offsets[t] + i] * weights[(j * rows + t) * span + i]`.
#[inline(always)]
fn micro_tile(
    input: &[f32],
    c: usize,
    span: usize,
    offsets: &[usize],
    weights: &[f32],
    bias: &[f32],
    tile: &mut [[f32; GROUP]; TILE],
) {
    #[cfg(target_arch = "x86_64")]
    if crate::simd::has_avx2_fma() {
        let reach = (TILE - 1) * c + offsets[offsets.len() - 1] + span;
        assert!(reach <= input.len() && weights.len() >= GROUP * offsets.len() * span);
        assert!(bias.len() >= GROUP);
        // SAFETY: the CPU has AVX2 and FMA; every read is within the bounds checked above.
        unsafe {
            avx2::micro_tile(
                input.as_ptr(),
                c,
                span,
                offsets,
                weights.as_ptr(),
                bias,
                tile,
            )
        };
        return;
    }
    micro_tile_portable(input, c, span, offsets, weights, bias, tile);
}

/// [`micro_tile`] in plain Rust, for CPUs without AVX2.
fn micro_tile_portable(
    input: &[f32],
    c: usize,
    span: usize,
    offsets: &[usize],
    weights: &[f32],
    bias: &[f32],
    tile: &mut [[f32; GROUP]; TILE],
) {
    let taps = offsets.len();
    for (r, acc) in tile.iter_mut().enumerate() {
        for (j, a) in acc.iter_mut().enumerate() {
            *a = bias[j]
                + offsets
                    .iter()
                    .enumerate()
                    .map(|(t, &off)| {
                        let x = &input[r * c + off..][..span];
                        let w = &weights[(j * taps + t) * span..][..span];
                        x.iter().zip(w).map(|(x, w)| x * w).sum::<f32>()
                    })
                    .sum::<f32>();
        }
    }
}

#[cfg(target_arch = "x86_64")]
mod avx2 {
    use std::arch::x86_64::*;

    use super::{GROUP, TILE, VECTOR};

    /// `bias + [sum of a's lanes, of b's, of c's, of d's]`.
    #[inline]
    #[target_feature(enable = "avx2,fma")]
    fn hsum4(a: __m256, b: __m256, c: __m256, d: __m256, bias: __m128) -> [f32; 4] {
        // Pairwise sums within 128-bit halves, then the two halves added.
        let ab = _mm256_hadd_ps(a, b);
        let cd = _mm256_hadd_ps(c, d);
        let abcd = _mm256_hadd_ps(ab, cd);
        let sums = _mm_add_ps(_mm256_castps256_ps128(abcd), _mm256_extractf128_ps(abcd, 1));
        let mut out = [0.0f32; 4];
        // SAFETY: `out` holds 4 floats.
        unsafe { _mm_storeu_ps(out.as_mut_ptr(), _mm_add_ps(sums, bias)) };
        out
    }

    /// The AVX2 + FMA micro-kernel: 3 pixels x 4 output channels in 12 vector
    /// accumulators, summed across lanes at the end.
    ///
    /// # Safety
    /// The CPU must have AVX2 and FMA; `input` must be readable up to
    /// `2 * c + offsets.last() + span` floats, `weights` up to `4 * offsets.len() * span`, and
    /// `bias` must hold 4 values.
    #[target_feature(enable = "avx2,fma")]
    pub unsafe fn micro_tile(
        input: *const f32,
        c: usize,
        span: usize,
        offsets: &[usize],
        weights: *const f32,
        bias: &[f32],
        tile: &mut [[f32; GROUP]; TILE],
    ) {
        unsafe {
            let z = _mm256_setzero_ps();
            let (mut a00, mut a01, mut a02, mut a03) = (z, z, z, z);
            let (mut a10, mut a11, mut a12, mut a13) = (z, z, z, z);
            let (mut a20, mut a21, mut a22, mut a23) = (z, z, z, z);
            let stride = offsets.len() * span;
            let (w0, w1, w2, w3) = (
                weights,
                weights.add(stride),
                weights.add(2 * stride),
                weights.add(3 * stride),
            );
            let mut w = 0;
            for &off in offsets {
                let p0 = input.add(off);
                let (p1, p2) = (p0.add(c), p0.add(2 * c));
                for i in (0..span).step_by(VECTOR) {
                    let x0 = _mm256_loadu_ps(p0.add(i));
                    let x1 = _mm256_loadu_ps(p1.add(i));
                    let x2 = _mm256_loadu_ps(p2.add(i));
                    let v = _mm256_loadu_ps(w0.add(w + i));
                    a00 = _mm256_fmadd_ps(x0, v, a00);
                    a10 = _mm256_fmadd_ps(x1, v, a10);
                    a20 = _mm256_fmadd_ps(x2, v, a20);
                    let v = _mm256_loadu_ps(w1.add(w + i));
                    a01 = _mm256_fmadd_ps(x0, v, a01);
                    a11 = _mm256_fmadd_ps(x1, v, a11);
                    a21 = _mm256_fmadd_ps(x2, v, a21);
                    let v = _mm256_loadu_ps(w2.add(w + i));
                    a02 = _mm256_fmadd_ps(x0, v, a02);
                    a12 = _mm256_fmadd_ps(x1, v, a12);
                    a22 = _mm256_fmadd_ps(x2, v, a22);
                    let v = _mm256_loadu_ps(w3.add(w + i));
                    a03 = _mm256_fmadd_ps(x0, v, a03);
                    a13 = _mm256_fmadd_ps(x1, v, a13);
                    a23 = _mm256_fmadd_ps(x2, v, a23);
                }
                w += span;
            }
            let bias = _mm_loadu_ps(bias.as_ptr());
            tile[0] = hsum4(a00, a01, a02, a03, bias);
            tile[1] = hsum4(a10, a11, a12, a13, bias);
            tile[2] = hsum4(a20, a21, a22, a23, bias);
        }
    }
}

/// Transposed convolution weights, packed as kernel row, kernel column, output channel,
/// input channel (a dot product over contiguous input channels per tap).
#[derive(Debug, Clone)]
pub struct PackedConvTranspose {
    channels_in: usize,
    channels_out: usize,
    kernel: usize,
    stride: usize,
    pad: usize,
    pad_out: usize,
    weights: Vec<f32>,
    bias: Vec<f32>,
}

impl PackedConvTranspose {
    /// Packs `weight` (`[channels_in, channels_out, kernel, kernel]`, the PyTorch and burn
    /// layout of a transposed convolution) for `stride`, `pad` and output padding `pad_out`
    /// (ungrouped, undilated).
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        weight: &[f32],
        bias: Option<&[f32]>,
        channels_in: usize,
        channels_out: usize,
        kernel: usize,
        stride: usize,
        pad: usize,
        pad_out: usize,
    ) -> Self {
        let taps = kernel * kernel;
        assert_eq!(
            weight.len(),
            channels_in * channels_out * taps,
            "weight size"
        );
        let mut packed = vec![0.0; weight.len()];
        for i in 0..channels_in {
            for o in 0..channels_out {
                for t in 0..taps {
                    packed[(t * channels_out + o) * channels_in + i] =
                        weight[(i * channels_out + o) * taps + t];
                }
            }
        }
        Self {
            channels_in,
            channels_out,
            kernel,
            stride,
            pad,
            pad_out,
            weights: packed,
            bias: bias.map_or_else(|| vec![0.0; channels_out], <[f32]>::to_vec),
        }
    }
}

/// The transposed convolution of `x` by `conv`, with a border of [`BORDER`] on the output. Each
/// output pixel gathers the taps that reach it (`(y + pad - ky)` divisible by the stride).
pub fn conv_transpose2d(x: FeatureMap, conv: &PackedConvTranspose) -> FeatureMap {
    assert_eq!(x.channels(), conv.channels_in, "input channels");
    let (s, k, p) = (conv.stride, conv.kernel, conv.pad);
    let size = |n: usize| (n - 1) * s + k + conv.pad_out - 2 * p;
    let (ho, wo) = (size(x.height()), size(x.width()));
    let co = conv.channels_out;
    let mut out = FeatureMap::for_overwrite(x.batch(), ho, wo, co, BORDER);
    let out_row = (wo + 2 * BORDER) * co;
    for img in 0..x.batch() {
        out.image_mut(img)[BORDER * out_row..(ho + BORDER) * out_row]
            .par_chunks_mut(out_row)
            .enumerate()
            .for_each(|(y, row)| {
                transposed_row(&x, conv, img, y, &mut row[BORDER * co..][..wo * co])
            });
    }
    out
}

simd_fn! {
    /// Output row `y` of image `img` of the transposed convolution (`row` holds its `wo * co`
    /// interior values).
    fn transposed_row(x: &FeatureMap, conv: &PackedConvTranspose, img: usize, y: usize, row: &mut [f32]) {
        let (s, k, p) = (conv.stride, conv.kernel, conv.pad);
        let (ci, co) = (conv.channels_in, conv.channels_out);
        // Input rows (or columns) and kernel taps that reach output coordinate `o`.
        let taps = |o: usize, n: usize| {
            (0..k).filter_map(move |t| {
                let src = (o + p).checked_sub(t)?;
                (src % s == 0 && src / s < n).then_some((src / s, t))
            })
        };
        for (xo, acc) in row.chunks_exact_mut(co).enumerate() {
            acc.copy_from_slice(&conv.bias);
            for (ys, ky) in taps(y, x.height()) {
                let in_row = x.row(img, ys);
                for (xs, kx) in taps(xo, x.width()) {
                    let v = &in_row[xs * ci..][..ci];
                    let w = &conv.weights[(ky * k + kx) * co * ci..][..co * ci];
                    for (a, w) in acc.iter_mut().zip(w.chunks_exact(ci)) {
                        *a += dot(v, w);
                    }
                }
            }
        }
    }
}

/// A dot product with 8 independent partial sums, so that it vectorises.
#[inline(always)]
fn dot(a: &[f32], b: &[f32]) -> f32 {
    let mut sums = [0.0f32; 8];
    let (a8, b8) = (a.chunks_exact(8), b.chunks_exact(8));
    let tail: f32 = a8
        .remainder()
        .iter()
        .zip(b8.remainder())
        .map(|(x, y)| x * y)
        .sum();
    for (x, y) in a8.zip(b8) {
        for l in 0..8 {
            sums[l] += x[l] * y[l];
        }
    }
    sums.iter().sum::<f32>() + tail
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::{max_diff, reference_conv, values};

    #[test]
    fn conv_matches_definition() {
        // Channel counts off the 16-lane blocks, odd sizes, kernels 1, 3, 5, and batch 2.
        for (c, co, k, h, w) in [
            (3, 20, 3, 7, 11),
            (5, 16, 1, 4, 9),
            (4, 33, 5, 9, 6),
            (17, 3, 3, 13, 2),
        ] {
            let p = k / 2;
            let dims = [2, c, h, w];
            let x = values(2 * c * h * w, 1);
            let weight = values(co * c * k * k, 2);
            let bias = values(co, 3);
            let packed = PackedConv::new(&weight, Some(&bias), co, c, k, p);
            let expected = reference_conv(&x, dims, &weight, &bias, co, k, p);
            // A border narrower than the padding is widened; a wider one read from further in.
            for border in [0, 2] {
                let map = FeatureMap::from_nchw(2, c, h, w, &x, border);
                let out = conv2d(map, &packed);
                assert_eq!(out.dims(), [2, co, h, w]);
                let diff = max_diff(&out.to_nchw(), &expected);
                assert!(diff < 1e-5, "c {c} co {co} k {k} border {border}: {diff}");
            }
        }
    }

    #[test]
    fn conv_transpose_matches_scatter_definition() {
        let (c, co, k, s, p, h, w) = (5, 2, 9, 3, 4, 4, 6);
        let x = values(c * h * w, 4);
        let weight = values(c * co * k * k, 5);
        let bias = values(co, 6);
        let (ho, wo) = (h * s, w * s);
        // Scatter: input (y, x) adds weight * value at output (y * s - p + ky, x * s - p + kx).
        let mut expected = vec![0.0f32; co * ho * wo];
        for o in 0..co {
            expected[o * ho * wo..][..ho * wo].fill(bias[o]);
            for i in 0..c {
                for y in 0..h {
                    for xi in 0..w {
                        for ky in 0..k {
                            for kx in 0..k {
                                let (yo, xo) = (
                                    (y * s + ky) as isize - p as isize,
                                    (xi * s + kx) as isize - p as isize,
                                );
                                if yo < 0 || xo < 0 || yo >= ho as isize || xo >= wo as isize {
                                    continue;
                                }
                                expected[(o * ho + yo as usize) * wo + xo as usize] += x
                                    [(i * h + y) * w + xi]
                                    * weight[((i * co + o) * k + ky) * k + kx];
                            }
                        }
                    }
                }
            }
        }
        let packed = PackedConvTranspose::new(&weight, Some(&bias), c, co, k, s, p, s - 1);
        let out = conv_transpose2d(FeatureMap::from_nchw(1, c, h, w, &x, 1), &packed);
        assert_eq!(out.dims(), [1, co, ho, wo]);
        assert!(max_diff(&out.to_nchw(), &expected) < 1e-5);
    }
}
