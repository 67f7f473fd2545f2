//! INT8 convolution: 8-bit activations times 8-bit weights, summed in 32-bit integers.
//!
//! The input map is quantized per tensor, asymmetrically (`q = round(x / scale) + zero_point`
//! in `0..=255`, from a calibrated range), into a padded NHWC byte image whose border holds
//! the zero point, so that padding contributes exactly nothing. Weights are quantized per
//! output channel, symmetrically. The result is dequantized into an `f32` [`FeatureMap`] with
//! the bias added, so that everything between convolutions (residual sums, activations,
//! pixel shuffles) stays in floating point.
//!
//! The AVX2 micro-kernel has the layout of [`crate::conv`]'s: 3 pixels x 4 output channels as
//! dot products over contiguous kernel-row spans, 32 bytes per step. `vpmaddubsw` multiplies
//! unsigned activation bytes by signed weight bytes and adds neighbouring pairs into
//! saturating 16-bit lanes; `vpmaddwd` by ones widens them to 32 bits. A pair saturates if
//! `255 * (|w0| + |w1|)` exceeds `i16::MAX`, so the weight step is the largest pair's
//! `|w0| + |w1|` over [`PAIR_SUM`], which keeps every pair within 128 after rounding: results
//! are then exact, and the same as the portable code's, on every CPU (CPUs with AVX-512 VNNI
//! would not need that bound; this one's AVX2 does). [`weight_pairs`] tells which weights
//! share a pair, for those who choose the weights' rounding themselves.

use rayon::prelude::*;

use crate::conv::{GROUP, Geometry, TILE, for_each_band, pack_spans, sweep_rows};
use crate::feature::{BORDER, FeatureMap};
use crate::pool::BufferPool;

/// Bytes per vector.
const VECTOR: usize = 32;
/// The largest `|q0| + |q1|` of a weight pair for which `255 * (|q0| + |q1|)` fits in `i16`.
const PAIR_LIMIT: i32 = 128;

/// The `|w0| + |w1|` of an output channel's largest weight pair, in weight steps: rounding
/// adds at most 0.5 to each of a pair, so every pair stays within [`PAIR_LIMIT`]. Weights
/// already on that grid (a largest pair of exactly `PAIR_SUM` steps) quantize to themselves.
pub const PAIR_SUM: i32 = PAIR_LIMIT - 1;

/// How real values map to bytes: `q = clamp(round(x / scale) + zero_point, 0, 255)`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Quantizer {
    /// The real value of one step.
    pub scale: f32,
    /// The byte that stands for 0.0.
    pub zero_point: u8,
}

impl Quantizer {
    /// The quantizer that spans `[min, max]`, widened to include 0 (so that zero padding is
    /// exact), with 0.0 falling exactly on a byte.
    pub fn from_range(min: f32, max: f32) -> Self {
        let (min, max) = (min.min(0.0), max.max(0.0));
        let scale = if max > min { (max - min) / 255.0 } else { 1.0 };
        Self {
            scale,
            zero_point: (-min / scale).round().clamp(0.0, 255.0) as u8,
        }
    }

    #[cfg(test)]
    fn quantize(self, x: f32) -> u8 {
        quantize_value(x, 1.0 / self.scale, f32::from(self.zero_point))
    }
}

/// `x` quantized by the scale's inverse and the zero point as a float.
#[inline(always)]
fn quantize_value(x: f32, inverse: f32, zero: f32) -> u8 {
    // Adding 0.5 and truncating the clamped value rounds to nearest (ties up); the fused
    // multiply-add is what the AVX2 code computes, bit for bit.
    x.mul_add(inverse, zero + 0.5).clamp(0.0, 255.0) as u8
}

/// A convolution's weights quantized per output channel and packed for the micro-kernel
/// (the layout of [`crate::PackedConv`], in bytes, spans rounded up to 32), with the input's
/// quantizer and the factors that turn integer sums back into real values.
#[derive(Debug, Clone)]
pub struct QuantizedConv {
    channels_in: usize,
    channels_out: usize,
    kernel: usize,
    pad: usize,
    span: usize,
    input: Quantizer,
    weights: Vec<i8>,
    /// Per output channel: input scale x weight scale.
    scales: Vec<f32>,
    /// Per output channel: the bias, less what the input's zero point adds to the sum.
    offsets: Vec<f32>,
    bias: Vec<f32>,
}

impl QuantizedConv {
    /// Quantizes `weight` (`[channels_out, channels_in, kernel, kernel]`) and `bias` of a
    /// stride-1, undilated, ungrouped convolution with `pad` zero pixels on every side, whose
    /// input will be quantized by `input`.
    pub fn new(
        weight: &[f32],
        bias: Option<&[f32]>,
        channels_out: usize,
        channels_in: usize,
        kernel: usize,
        pad: usize,
        input: Quantizer,
    ) -> Self {
        let span = (kernel * channels_in).next_multiple_of(VECTOR);
        let padded_out = channels_out.next_multiple_of(GROUP);
        let channel_len = kernel * span;
        // Real weights in the packed layout, then quantized channel by channel.
        let real = pack_spans(weight, channels_out, channels_in, kernel, span, padded_out);
        let mut weights = vec![0i8; real.len()];
        let mut scales = vec![0.0; padded_out];
        let mut offsets = vec![0.0; padded_out];
        for o in 0..channels_out {
            let channel = &real[o * channel_len..][..channel_len];
            let largest_pair = channel
                .chunks_exact(2)
                .fold(0.0f32, |m, p| m.max(p[0].abs() + p[1].abs()));
            // A pair's largest weight is at most the pair, so each weight stays within 127.
            let step = largest_pair / PAIR_SUM as f32;
            let step = if step > 0.0 { step } else { 1.0 };
            let quantized = &mut weights[o * channel_len..][..channel_len];
            for (q, w) in quantized.iter_mut().zip(channel) {
                *q = (w / step).round() as i8;
            }
            let sum: i32 = quantized.iter().map(|&q| i32::from(q)).sum();
            scales[o] = input.scale * step;
            let bias = bias.map_or(0.0, |b| b[o]);
            offsets[o] = bias - scales[o] * f32::from(input.zero_point) * sum as f32;
        }
        Self {
            channels_in,
            channels_out,
            kernel,
            pad,
            span,
            input,
            weights,
            scales,
            offsets,
            bias: (0..channels_out)
                .map(|o| bias.map_or(0.0, |b| b[o]))
                .collect(),
        }
    }

    /// Output channels.
    pub fn channels_out(&self) -> usize {
        self.channels_out
    }

    /// Input channels.
    pub fn channels_in(&self) -> usize {
        self.channels_in
    }

    /// The kernel's side.
    pub fn kernel(&self) -> usize {
        self.kernel
    }

    /// Zero pixels on every side.
    pub fn pad(&self) -> usize {
        self.pad
    }

    /// How the input is quantized.
    pub fn input(&self) -> Quantizer {
        self.input
    }

    /// The quantized weight from input channel `i` to output channel `o` at `(ky, kx)`.
    pub fn weight(&self, o: usize, i: usize, ky: usize, kx: usize) -> i8 {
        self.weights[o * self.channel_len() + ky * self.span + kx * self.channels_in + i]
    }

    /// The real value of one step of output channel `o`'s weights.
    pub fn weight_step(&self, o: usize) -> f32 {
        self.scales[o] / self.input.scale
    }

    /// The real bias of every output channel.
    pub fn bias(&self) -> &[f32] {
        &self.bias
    }

    fn channel_len(&self) -> usize {
        self.kernel * self.span
    }
}

/// The weight pairs that the micro-kernel multiplies together, as indices into one output
/// channel's weights in `[channels_in, kernel, kernel]` order (the order of the weight
/// argument of [`QuantizedConv::new`]): a weight without a partner (when `kernel *
/// channels_in` is odd, the last of each kernel row) is paired with `None`. Every weight is in
/// exactly one pair, and [`QuantizedConv::new`]'s step is the largest `|w0| + |w1|` over
/// [`PAIR_SUM`].
pub fn weight_pairs(channels_in: usize, kernel: usize) -> Vec<(usize, Option<usize>)> {
    // A kernel row holds `kernel * channels_in` weights, kernel column by kernel column.
    let row = kernel * channels_in;
    let natural = |ky: usize, at: usize| {
        let (kx, i) = (at / channels_in, at % channels_in);
        (i * kernel + ky) * kernel + kx
    };
    (0..kernel)
        .flat_map(|ky| {
            (0..row)
                .step_by(2)
                .map(move |at| (natural(ky, at), (at + 1 < row).then(|| natural(ky, at + 1))))
        })
        .collect()
}

/// Byte maps of finished convolutions, reused by the next ones.
static POOL: BufferPool<u8> = BufferPool::new(64 << 20);

/// Returns a byte map to the pool.
pub(crate) fn recycle(bytes: Vec<u8>) {
    POOL.give(bytes);
}

/// A buffer of `len` copies of `fill`, recycled from the pool when one is large enough.
fn filled_buffer(len: usize, fill: u8) -> Vec<u8> {
    let mut buffer = POOL.take(len).unwrap_or_default();
    buffer.clear();
    buffer.resize(len, fill);
    buffer
}

/// `x`'s images as bytes by `quantizer`, NHWC with a border of `pad` pixels, the border and
/// the slack after the last image (read, times zero weights, by the micro-kernel) holding the
/// zero point.
pub(crate) fn quantize_map(
    x: &FeatureMap,
    quantizer: Quantizer,
    pad: usize,
    slack: usize,
) -> Vec<u8> {
    let (h, w, c) = (x.height(), x.width(), x.channels());
    let row = (w + 2 * pad) * c;
    let image = (h + 2 * pad) * row;
    let mut bytes = filled_buffer(x.batch() * image + slack, quantizer.zero_point);
    let inverse = 1.0 / quantizer.scale;
    let zero = f32::from(quantizer.zero_point);
    for img in 0..x.batch() {
        bytes[img * image..][..image]
            .par_chunks_mut(row)
            .skip(pad)
            .take(h)
            .enumerate()
            .for_each(|(y, line)| quantize_row(x.row(img, y), &mut line[pad * c..], inverse, zero));
    }
    bytes
}

/// `values` quantized into `bytes` (as many as both hold).
fn quantize_row(values: &[f32], bytes: &mut [u8], inverse: f32, zero: f32) {
    let n = values.len().min(bytes.len());
    let mut done = 0;
    #[cfg(target_arch = "x86_64")]
    if crate::simd::has_avx2_fma() {
        done = n / 32 * 32;
        // SAFETY: the CPU has AVX2 and FMA; both slices hold `done` values.
        unsafe { avx2::quantize(&values[..done], &mut bytes[..done], inverse, zero) };
    }
    for (b, &v) in bytes[done..n].iter_mut().zip(&values[done..n]) {
        *b = quantize_value(v, inverse, zero);
    }
}

/// The INT8 convolution of `x` by `conv`, dequantized, with a border of [`BORDER`].
pub fn conv2d_int8(x: &FeatureMap, conv: &QuantizedConv) -> FeatureMap {
    assert_eq!(x.channels(), conv.channels_in, "input channels");
    let (c, k, co, p) = (conv.channels_in, conv.kernel, conv.channels_out, conv.pad);
    let wp = x.width() + 2 * p;
    let ho = x.height() + 2 * p + 1 - k;
    let wo = x.width() + 2 * p + 1 - k;
    let offsets: Vec<usize> = (0..k).map(|ky| ky * wp * c).collect();
    // The last micro-tile of a row may run TILE pixels past it, and its spans one vector on.
    let slack = TILE * c + conv.span;
    let input = quantize_map(x, conv.input, p, slack);
    let image = (x.height() + 2 * p) * wp * c;
    let last_image = x.batch().saturating_sub(1) * image;
    assert!(
        last_image + (ho * wp + TILE) * c + offsets[k - 1] + conv.span <= input.len(),
        "quantized map slack too small for the kernel"
    );
    let mut out = FeatureMap::for_overwrite(x.batch(), ho, wo, co, BORDER);
    let geometry = Geometry {
        c,
        wp,
        wo,
        out_row: (wo + 2 * BORDER) * co,
    };
    for_each_band(&mut out, wp, |img, y0, rows| {
        conv_rows(&input[img * image..], conv, &offsets, &geometry, y0, rows);
    });
    recycle(input);
    out
}

/// Output rows `y0..` (as many as `rows` holds) from the quantized input, swept as
/// [`crate::conv`]'s `f32` kernel sweeps them.
fn conv_rows(
    input: &[u8],
    conv: &QuantizedConv,
    offsets: &[usize],
    g: &Geometry,
    y0: usize,
    rows: &mut [f32],
) {
    let len = conv.channel_len();
    sweep_rows(g, conv.channels_out, y0, rows, |first, pixel, tile| {
        let weights = &conv.weights[first * len..][..GROUP * len];
        let scales = &conv.scales[first..][..GROUP];
        let shifts = &conv.offsets[first..][..GROUP];
        micro_tile(
            &input[pixel * g.c..],
            g.c,
            conv.span,
            offsets,
            weights,
            scales,
            shifts,
            tile,
        );
    });
}

/// `tile[r][j] = scales[j] * sum + shifts[j]`, the sum over kernel rows t and span bytes i
/// of `input[r * c + offsets[t] + i] * weights[(j * rows + t) * span + i]`.
#[allow(clippy::too_many_arguments)]
#[inline(always)]
fn micro_tile(
    input: &[u8],
    c: usize,
    span: usize,
    offsets: &[usize],
    weights: &[i8],
    scales: &[f32],
    shifts: &[f32],
    tile: &mut [[f32; GROUP]; TILE],
) {
    let reach = (TILE - 1) * c + offsets[offsets.len() - 1] + span;
    assert!(reach <= input.len() && weights.len() >= GROUP * offsets.len() * span);
    assert!(scales.len() >= GROUP && shifts.len() >= GROUP);
    #[cfg(target_arch = "x86_64")]
    if std::arch::is_x86_feature_detected!("avx2") && std::arch::is_x86_feature_detected!("fma") {
        // SAFETY: the CPU has AVX2 and FMA; every access is within the bounds checked above.
        unsafe {
            avx2::micro_tile(
                input.as_ptr(),
                c,
                span,
                offsets,
                weights.as_ptr(),
                scales.as_ptr(),
                shifts.as_ptr(),
                tile,
            )
        };
        return;
    }
    let taps = offsets.len();
    for (r, values) in tile.iter_mut().enumerate() {
        for (j, value) in values.iter_mut().enumerate() {
            let sum: i32 = offsets
                .iter()
                .enumerate()
                .map(|(t, &off)| {
                    let x = &input[r * c + off..][..span];
                    let w = &weights[(j * taps + t) * span..][..span];
                    x.iter()
                        .zip(w)
                        .map(|(&x, &w)| i32::from(x) * i32::from(w))
                        .sum::<i32>()
                })
                .sum();
            *value = (sum as f32).mul_add(scales[j], shifts[j]);
        }
    }
}

#[cfg(target_arch = "x86_64")]
mod avx2 {
    use std::arch::x86_64::*;

    use super::{GROUP, TILE, VECTOR};

    /// The 8 sums of 4 neighbouring byte products `x * w` (exact: the weights keep every
    /// pair within 16 bits).
    #[inline]
    #[target_feature(enable = "avx2")]
    fn dot(x: __m256i, w: __m256i) -> __m256i {
        _mm256_madd_epi16(_mm256_maddubs_epi16(x, w), _mm256_set1_epi16(1))
    }

    /// [`super::quantize_value`] of every value, 32 at a time (`values.len()` a multiple of
    /// 32, `bytes` as long).
    ///
    /// # Safety
    /// The CPU must have AVX2 and FMA.
    #[target_feature(enable = "avx2,fma")]
    pub unsafe fn quantize(values: &[f32], bytes: &mut [u8], inverse: f32, zero: f32) {
        assert!(values.len().is_multiple_of(32) && bytes.len() == values.len());
        let (inverse, shift) = (_mm256_set1_ps(inverse), _mm256_set1_ps(zero + 0.5));
        let (low, high) = (_mm256_setzero_ps(), _mm256_set1_ps(255.0));
        // packus interleaves the 128-bit halves; this restores the order of the 8 dwords.
        let order = _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7);
        for (src, dst) in values.chunks_exact(32).zip(bytes.chunks_exact_mut(32)) {
            let q = |k: usize| {
                // SAFETY: `src` holds 32 floats.
                let v = unsafe { _mm256_loadu_ps(src.as_ptr().add(8 * k)) };
                let v = _mm256_min_ps(_mm256_max_ps(_mm256_fmadd_ps(v, inverse, shift), low), high);
                _mm256_cvttps_epi32(v)
            };
            let words = (
                _mm256_packus_epi32(q(0), q(1)),
                _mm256_packus_epi32(q(2), q(3)),
            );
            let packed = _mm256_packus_epi16(words.0, words.1);
            let packed = _mm256_permutevar8x32_epi32(packed, order);
            // SAFETY: `dst` holds 32 bytes.
            unsafe { _mm256_storeu_si256(dst.as_mut_ptr().cast(), packed) };
        }
    }

    /// `scale * [sum of a's lanes, of b's, of c's, of d's] + shift`.
    #[inline]
    #[target_feature(enable = "avx2,fma")]
    fn hsum4(
        a: __m256i,
        b: __m256i,
        c: __m256i,
        d: __m256i,
        scale: __m128,
        shift: __m128,
    ) -> [f32; 4] {
        let abcd = _mm256_hadd_epi32(_mm256_hadd_epi32(a, b), _mm256_hadd_epi32(c, d));
        let sums = _mm_add_epi32(
            _mm256_castsi256_si128(abcd),
            _mm256_extracti128_si256(abcd, 1),
        );
        let values = _mm_fmadd_ps(_mm_cvtepi32_ps(sums), scale, shift);
        let mut out = [0.0f32; 4];
        // SAFETY: `out` holds 4 floats.
        unsafe { _mm_storeu_ps(out.as_mut_ptr(), values) };
        out
    }

    /// The AVX2 micro-kernel: 3 pixels x 4 output channels in 12 vector accumulators,
    /// dequantized at the end.
    ///
    /// # Safety
    /// The CPU must have AVX2 and FMA; `input` must be readable up to
    /// `2 * c + offsets.last() + span` bytes, `weights` up to `4 * offsets.len() * span`, and
    /// `scales` and `shifts` must hold 4 values.
    #[allow(clippy::too_many_arguments)]
    #[target_feature(enable = "avx2,fma")]
    pub unsafe fn micro_tile(
        input: *const u8,
        c: usize,
        span: usize,
        offsets: &[usize],
        weights: *const i8,
        scales: *const f32,
        shifts: *const f32,
        tile: &mut [[f32; GROUP]; TILE],
    ) {
        unsafe {
            let z = _mm256_setzero_si256();
            let (mut a00, mut a01, mut a02, mut a03) = (z, z, z, z);
            let (mut a10, mut a11, mut a12, mut a13) = (z, z, z, z);
            let (mut a20, mut a21, mut a22, mut a23) = (z, z, z, z);
            let stride = offsets.len() * span;
            let mut w = 0;
            for &off in offsets {
                let p0 = input.add(off);
                let (p1, p2) = (p0.add(c), p0.add(2 * c));
                for i in (0..span).step_by(VECTOR) {
                    let x0 = _mm256_loadu_si256(p0.add(i).cast());
                    let x1 = _mm256_loadu_si256(p1.add(i).cast());
                    let x2 = _mm256_loadu_si256(p2.add(i).cast());
                    let v = _mm256_loadu_si256(weights.add(w + i).cast());
                    a00 = _mm256_add_epi32(a00, dot(x0, v));
                    a10 = _mm256_add_epi32(a10, dot(x1, v));
                    a20 = _mm256_add_epi32(a20, dot(x2, v));
                    let v = _mm256_loadu_si256(weights.add(stride + w + i).cast());
                    a01 = _mm256_add_epi32(a01, dot(x0, v));
                    a11 = _mm256_add_epi32(a11, dot(x1, v));
                    a21 = _mm256_add_epi32(a21, dot(x2, v));
                    let v = _mm256_loadu_si256(weights.add(2 * stride + w + i).cast());
                    a02 = _mm256_add_epi32(a02, dot(x0, v));
                    a12 = _mm256_add_epi32(a12, dot(x1, v));
                    a22 = _mm256_add_epi32(a22, dot(x2, v));
                    let v = _mm256_loadu_si256(weights.add(3 * stride + w + i).cast());
                    a03 = _mm256_add_epi32(a03, dot(x0, v));
                    a13 = _mm256_add_epi32(a13, dot(x1, v));
                    a23 = _mm256_add_epi32(a23, dot(x2, v));
                }
                w += span;
            }
            let (scale, shift) = (_mm_loadu_ps(scales), _mm_loadu_ps(shifts));
            tile[0] = hsum4(a00, a01, a02, a03, scale, shift);
            tile[1] = hsum4(a10, a11, a12, a13, scale, shift);
            tile[2] = hsum4(a20, a21, a22, a23, scale, shift);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::{max_diff, reference_conv, values};

    #[test]
    fn vector_quantization_is_the_scalar_one() {
        // Both sides of every rounding boundary, the clamps, and a tail past 32 values.
        let values: Vec<f32> = (0..1000).map(|i| (i as f32 - 300.0) * 0.0371).collect();
        let q = Quantizer::from_range(-3.0, 20.0);
        let mut bytes = vec![0u8; values.len()];
        quantize_row(&values, &mut bytes, 1.0 / q.scale, f32::from(q.zero_point));
        for (v, b) in values.iter().zip(&bytes) {
            assert_eq!(*b, q.quantize(*v), "{v}");
        }
        assert!(bytes.contains(&0) && bytes.contains(&255));
    }

    #[test]
    fn quantizer_keeps_zero_exact() {
        for (min, max) in [(-1.0, 3.0), (0.0, 2.0), (0.5, 2.0), (-4.0, -1.0)] {
            let q = Quantizer::from_range(min, max);
            assert_eq!(q.quantize(0.0), q.zero_point);
            let max = max.max(0.0);
            assert!(
                (f32::from(q.quantize(max)) - f32::from(q.zero_point)) * q.scale - max <= q.scale
            );
        }
    }

    /// The convolution of the quantized input by the quantized weights, in exact arithmetic:
    /// what the INT8 kernel must reproduce up to float rounding of the final scaling.
    fn dequantized_reference(
        x: &[f32],
        dims: [usize; 4],
        weight: &[f32],
        bias: &[f32],
        conv: &QuantizedConv,
    ) -> Vec<f32> {
        let (co, ci, k) = (conv.channels_out, conv.channels_in, conv.kernel);
        let q = conv.input;
        let x: Vec<f32> = x
            .iter()
            .map(|&v| (f32::from(q.quantize(v)) - f32::from(q.zero_point)) * q.scale)
            .collect();
        let mut w = vec![0.0; weight.len()];
        for o in 0..co {
            for i in 0..ci {
                for ky in 0..k {
                    for kx in 0..k {
                        w[((o * ci + i) * k + ky) * k + kx] =
                            f32::from(conv.weight(o, i, ky, kx)) * conv.weight_step(o);
                    }
                }
            }
        }
        reference_conv(&x, dims, &w, bias, co, k, conv.pad)
    }

    #[test]
    fn int8_conv_is_the_quantized_convolution() {
        // Odd channel counts (pairs straddling kernel columns), kernels 1, 3, 5, batch 2, a
        // range that clips, and signed and one-sided inputs.
        for (c, co, k, h, w, range) in [
            (16, 20, 3, 7, 11, (-1.0, 1.0)),
            (5, 16, 1, 4, 9, (-0.5, 0.7)),
            (33, 6, 5, 9, 6, (0.0, 1.0)),
            (64, 64, 3, 13, 2, (-0.8, 0.9)),
        ] {
            let p = k / 2;
            let dims = [2, c, h, w];
            let x = values(2 * c * h * w, 7);
            let weight = values(co * c * k * k, 8);
            let bias = values(co, 9);
            let conv = QuantizedConv::new(
                &weight,
                Some(&bias),
                co,
                c,
                k,
                p,
                Quantizer::from_range(range.0, range.1),
            );
            let out = conv2d_int8(&FeatureMap::from_nchw(2, c, h, w, &x, 1), &conv);
            assert_eq!(out.dims(), [2, co, h, w]);
            let expected = dequantized_reference(&x, dims, &weight, &bias, &conv);
            let diff = max_diff(&out.to_nchw(), &expected);
            assert!(diff < 1e-4, "c {c} co {co} k {k}: {diff}");
            // Within an unclipped range the result stays close to the real convolution: the
            // error's RMS is a small fraction of the output's.
            if range == (-1.0, 1.0) {
                let real = reference_conv(&x, dims, &weight, &bias, co, k, p);
                let rms = |v: &mut dyn Iterator<Item = f32>| {
                    let (sum, n) = v.fold((0.0, 0), |(s, n), x| (s + x * x, n + 1));
                    (sum / n as f32).sqrt()
                };
                let error = rms(&mut out.to_nchw().iter().zip(&real).map(|(a, b)| a - b));
                let relative = error / rms(&mut real.iter().copied());
                assert!(relative < 0.03, "c {c}: relative error {relative}");
            }
        }
    }

    #[test]
    fn weight_pairs_cannot_saturate() {
        // Two equal extreme weights side by side: each rounds to 64, so the pair is 128.
        let weight = [1.0f32, 1.0, -1.0, 0.5];
        let conv = QuantizedConv::new(&weight, None, 1, 4, 1, 0, Quantizer::from_range(0.0, 1.0));
        let pairs = conv.weights[..4].chunks_exact(2);
        assert!(
            pairs
                .clone()
                .all(|p| i32::from(p[0]).abs() + i32::from(p[1]).abs() <= PAIR_LIMIT)
        );
        // All 255 inputs: the exact sum 255 * (64 + 64 - 64 + 32) survives the kernel.
        let x = FeatureMap::from_nchw(1, 4, 1, 1, &[1.0; 4], 0);
        let out = conv2d_int8(&x, &conv);
        let expected: f32 = weight.iter().sum();
        assert!(
            (out.to_nchw()[0] - expected).abs() < 0.02,
            "{:?}",
            out.to_nchw()
        );
    }

    #[test]
    fn weight_pairs_are_the_packed_pairs() {
        for (c, k) in [(4, 3), (5, 3), (33, 5), (16, 1), (3, 1)] {
            let pairs = weight_pairs(c, k);
            let span = (k * c).next_multiple_of(VECTOR);
            // Weight n's value is n: packing shows where each one went.
            let natural: Vec<f32> = (0..c * k * k).map(|n| n as f32).collect();
            let packed = pack_spans(&natural, 1, c, k, span, GROUP);
            let mut expected = Vec::new();
            for ky in 0..k {
                for at in (0..k * c).step_by(2) {
                    let second = (at + 1 < k * c).then(|| packed[ky * span + at + 1] as usize);
                    expected.push((packed[ky * span + at] as usize, second));
                }
            }
            assert_eq!(pairs, expected, "c {c} k {k}");
            let mut seen: Vec<usize> = pairs
                .iter()
                .flat_map(|&(a, b)| [Some(a), b])
                .flatten()
                .collect();
            seen.sort_unstable();
            assert_eq!(seen, (0..c * k * k).collect::<Vec<_>>());
        }
    }

    #[test]
    fn weights_on_the_grid_quantize_to_themselves() {
        // Integers times a step, the largest pair exactly PAIR_SUM steps: packing keeps them.
        let (c, k, step) = (5, 3, 0.0137f32);
        let pairs = weight_pairs(c, k);
        let mut q = vec![0i32; c * k * k];
        for (n, &(a, b)) in pairs.iter().enumerate() {
            q[a] = (n as i32 * 37 % 90) - 45;
            if let Some(b) = b {
                q[b] = (n as i32 * 11 % 60) - 30;
            }
        }
        let (a, b) = pairs[3];
        q[a] = -100;
        q[b.unwrap()] = PAIR_SUM - 100;
        let weight: Vec<f32> = q.iter().map(|&v| v as f32 * step).collect();
        let conv = QuantizedConv::new(&weight, None, 1, c, k, 1, Quantizer::from_range(0.0, 1.0));
        assert!((conv.weight_step(0) / step - 1.0).abs() < 1e-6);
        for i in 0..c {
            for ky in 0..k {
                for kx in 0..k {
                    let n = (i * k + ky) * k + kx;
                    assert_eq!(i32::from(conv.weight(0, i, ky, kx)), q[n], "weight {n}");
                }
            }
        }
    }
}
