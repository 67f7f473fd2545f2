//! INT8 3x3 convolutions by Winograd F(2x2, 3x3) in exact integer arithmetic.
//!
//! The model is the one [`crate::int8`] runs: bytes quantized per tensor, weights per output
//! channel; only the arithmetic differs. With `d` a tile of input bytes and `g` the 8-bit
//! kernel, `V = Bᵀ d B` and `U = (2G) g (2G)ᵀ` are integers (B has entries 0 and ±1, 2G
//! entries 0, 1 and 2), bounded by 4 * 255 = 1020 and 9 * 127 = 1143, so both fit 16 bits,
//! and `Aᵀ [Σ U V] A`, less the zero point's share, is exactly 4 times the direct
//! convolution's sum. The channel products
//! run on `vpmaddwd` (16 multiply-adds of 16-bit pairs per instruction, twice the lanes of an
//! fp32 FMA) and need 16 of them per 2x2 outputs where the direct kernel needs 36: where
//! AVX2 lacks VNNI this is what makes INT8 pay against fp32 Winograd.

use crate::feature::FeatureMap;
use crate::int8::{QuantizedConv, Quantizer, quantize_map};
use crate::simd::simd_fn;
use crate::winograd::{
    LANES, TILE, TileArithmetic, b_transpose_rows, convolve, for_each_micro_tile, times_b,
};

/// Input channels up to which the 32-bit sums cannot overflow: each product pair adds at most
/// 2 * 1020 * 1143 to them.
const MAX_CHANNELS_IN: usize = 1024;

/// A 3x3 INT8 convolution's weights transformed for F(2x2, 3x3): 16-bit pairs of input
/// channels, `[16][c / 2][co rounded up to 16][2]`.
#[derive(Debug, Clone)]
pub struct WinogradInt8Conv {
    channels_in: usize,
    channels_out: usize,
    padded_out: usize,
    input: Quantizer,
    transformed: Vec<i16>,
    /// Per output channel: the real value of one unit of the transformed sum.
    scales: Vec<f32>,
    bias: Vec<f32>,
    /// Per output channel: what the zero point adds to the sum at position (1, 1).
    zero_sums: Vec<i32>,
}

impl WinogradInt8Conv {
    /// The transform of `conv`, which must be a 3x3 convolution with one pixel of padding
    /// and at most 1024 input channels.
    pub fn new(conv: &QuantizedConv) -> Self {
        let (ci, co) = (conv.channels_in(), conv.channels_out());
        assert!(
            conv.kernel() == 3 && conv.pad() == 1,
            "a 3x3 convolution, padding 1"
        );
        assert!(
            ci <= MAX_CHANNELS_IN,
            "at most {MAX_CHANNELS_IN} input channels"
        );
        let pairs = ci.div_ceil(2);
        let padded_out = co.next_multiple_of(LANES);
        let mut transformed = vec![0i16; 16 * pairs * padded_out * 2];
        for o in 0..co {
            for i in 0..ci {
                let g: [i32; 9] =
                    std::array::from_fn(|t| i32::from(conv.weight(o, i, t / 3, t % 3)));
                // (2G) g: 4x3, then ((2G) g)(2G)ᵀ: 4x4, with 2G = [2 0 0; 1 1 1; 1 -1 1; 0 0 2].
                let rows = |a: i32, b: i32, c: i32| [2 * a, a + b + c, a - b + c, 2 * c];
                let [c0, c1, c2]: [[i32; 4]; 3] =
                    std::array::from_fn(|col| rows(g[col], g[3 + col], g[6 + col]));
                for r in 0..4 {
                    let u = rows(c0[r], c1[r], c2[r]);
                    for (col, v) in u.into_iter().enumerate() {
                        let at = (((r * 4 + col) * pairs + i / 2) * padded_out + o) * 2 + i % 2;
                        transformed[at] = i16::try_from(v).expect("bounded by 9 * 127");
                    }
                }
            }
        }
        let input = conv.input();
        let mut scales = vec![0.0; co];
        for (o, scale) in scales.iter_mut().enumerate() {
            *scale = input.scale * conv.weight_step(o) / 4.0;
        }
        // The tiles are transformed from the bytes themselves: a constant tile z transforms to
        // 4z at position (1, 1) and to 0 elsewhere, and Aᵀ M A counts M's (1, 1) once in each
        // output, so the zero point's share is taken from that position's sums.
        let zero = 4 * i32::from(input.zero_point);
        let at_11 = &transformed[5 * pairs * padded_out * 2..][..pairs * padded_out * 2];
        let zero_sums = (0..co)
            .map(|o| {
                let column = at_11
                    .chunks_exact(2 * padded_out)
                    .map(|pair| &pair[2 * o..2 * o + 2]);
                zero * column.flatten().map(|&u| i32::from(u)).sum::<i32>()
            })
            .collect();
        Self {
            channels_in: ci,
            channels_out: co,
            padded_out,
            input,
            transformed,
            scales,
            bias: conv.bias().to_vec(),
            zero_sums,
        }
    }
}

/// The INT8 convolution of `x` by `conv` (3x3, padding 1), dequantized, with a border of
/// [`BORDER`](crate::BORDER).
pub fn conv3x3_winograd_int8(x: &FeatureMap, conv: &WinogradInt8Conv) -> FeatureMap {
    assert_eq!(x.channels(), conv.channels_in, "input channels");
    let [n, c, h, w] = x.dims();
    // Tiles read 4x4 pixels from one above and left of their outputs; a border of 2 holding
    // the zero point lets the last tile of an odd size read past the edge.
    let bytes = quantize_map(x, conv.input, 2, 0);
    let (row, image) = ((w + 4) * c, (h + 4) * (w + 4) * c);
    let out = convolve(conv, n, h, w, |img, y| {
        &bytes[img * image + (y + 1) * row..][c..row]
    });
    crate::int8::recycle(bytes);
    out
}

impl TileArithmetic for WinogradInt8Conv {
    type Pixel = u8;
    type Value = i16;
    type Sum = i32;

    fn channels_in(&self) -> usize {
        self.channels_in
    }

    /// Whole pairs of channels, for `vpmaddwd`.
    fn tile_len(&self) -> usize {
        self.channels_in.next_multiple_of(2)
    }

    fn channels_out(&self) -> usize {
        self.channels_out
    }

    fn padded_out(&self) -> usize {
        self.padded_out
    }

    fn transform_columns(&self, d: [&[u8]; 4], out: &mut [i16]) {
        transform_columns(d, out);
    }

    fn transform_rows(&self, t: [&[i16]; 4], stride: usize, out: &mut [i16]) {
        transform_rows(t, self.channels_in, stride, out);
    }

    fn multiply(&self, k: usize, v: &[i16], count: usize, m: &mut [i32]) {
        let (len, po) = (self.tile_len(), self.padded_out);
        let u = &self.transformed[k * len * po..][..len * po];
        multiply(v, u, len / 2, po, count, m);
    }

    fn transform_output(&self, m: &[i32], stride: usize, y: [&mut [f32]; 4]) {
        transform_output(m, stride, self, y);
    }
}

simd_fn! {
    /// [`b_transpose_rows`] of bytes, in 16 bits.
    fn transform_columns(d: [&[u8]; 4], out: &mut [i16]) {
        b_transpose_rows(d, out, i16::from);
    }
}

simd_fn! {
    /// [`times_b`] of 16-bit values.
    fn transform_rows(t: [&[i16]; 4], c: usize, stride: usize, out: &mut [i16]) {
        times_b(t, c, stride, out);
    }
}

simd_fn! {
    /// `Y = scale Aᵀ M A + bias` for one tile, channels in the inner loop: `M[k]` is read at
    /// `m[k * stride..][..co]`, less the zero point's share at (1, 1), and `y[2 r + c]`
    /// receives output row `r`, column `c`, with Aᵀ = [1 1 1 0; 0 1 -1 -1]. The sums run in
    /// `f32`: nine products' worth can pass 2³¹.
    fn transform_output(m: &[i32], stride: usize, conv: &WinogradInt8Conv, y: [&mut [f32]; 4]) {
        let [y00, y01, y10, y11] = y;
        let (scales, bias, zero_sums) = (&conv.scales, &conv.bias, &conv.zero_sums);
        for o in 0..scales.len() {
            let mut s = [[0.0f32; 4]; 2];
            for col in 0..4 {
                let mut p = [0, 4, 8, 12].map(|k| m[(k + col) * stride + o]);
                if col == 1 {
                    p[1] -= zero_sums[o];
                }
                let p = p.map(|v| v as f32);
                s[0][col] = p[0] + p[1] + p[2];
                s[1][col] = p[1] - p[2] - p[3];
            }
            let (scale, b) = (scales[o], bias[o]);
            y00[o] = (s[0][0] + s[0][1] + s[0][2]).mul_add(scale, b);
            y01[o] = (s[0][1] - s[0][2] - s[0][3]).mul_add(scale, b);
            y10[o] = (s[1][0] + s[1][1] + s[1][2]).mul_add(scale, b);
            y11[o] = (s[1][1] - s[1][2] - s[1][3]).mul_add(scale, b);
        }
    }
}

/// `m[t][o] = sum over i of v[t][i] * u[i][o]` for `count` tiles, `v` and `u` in pairs of
/// input channels (`pairs` of them; `po` output channels, a multiple of 16).
fn multiply(v: &[i16], u: &[i16], pairs: usize, po: usize, count: usize, m: &mut [i32]) {
    for_each_micro_tile(po, count, |block, t, rows| {
        let (v, m) = (&v[t * 2 * pairs..], &mut m[t * po + block..]);
        micro_tile(v, pairs, &u[2 * block..], po, m, rows);
    });
}

/// `m[r * po + l] = sum over i < 2 pairs of v[r * 2 pairs + i] * u[(i / 2 * po + l) * 2 + i % 2]`
/// for `r < rows` (at most 6 tiles) and 16 channels. Rows past `rows` read the rest of `v`
/// and are not stored.
#[inline(always)]
fn micro_tile(v: &[i16], pairs: usize, u: &[i16], po: usize, m: &mut [i32], rows: usize) {
    #[cfg(target_arch = "x86_64")]
    if std::arch::is_x86_feature_detected!("avx2") {
        assert!(v.len() >= TILE * 2 * pairs && u.len() >= 2 * ((pairs - 1) * po + LANES));
        assert!(rows <= TILE && m.len() >= (rows - 1) * po + LANES);
        // SAFETY: the CPU has AVX2; the accesses are within the bounds checked above.
        unsafe { avx2::micro_tile(v.as_ptr(), pairs, u.as_ptr(), po, m.as_mut_ptr(), rows) };
        return;
    }
    for r in 0..rows {
        for l in 0..LANES {
            m[r * po + l] = (0..2 * pairs)
                .map(|i| {
                    i32::from(v[r * 2 * pairs + i]) * i32::from(u[(i / 2 * po + l) * 2 + i % 2])
                })
                .sum();
        }
    }
}

#[cfg(target_arch = "x86_64")]
mod avx2 {
    use std::arch::x86_64::*;

    /// 6 tiles x 16 output channels in 12 accumulators: per pair of input channels, two
    /// vectors of `u` (8 channels x 2 each) and one broadcast pair per tile; the first `rows`
    /// tiles are stored at `m`, `po` apart.
    ///
    /// # Safety
    /// The CPU must have AVX2; `v` must hold `6 * 2 * pairs` values, `u` at least
    /// `2 * ((pairs - 1) * po + 16)` and `m` at least `(rows - 1) * po + 16`, with `rows <= 6`.
    #[target_feature(enable = "avx2")]
    pub unsafe fn micro_tile(
        v: *const i16,
        pairs: usize,
        u: *const i16,
        po: usize,
        m: *mut i32,
        rows: usize,
    ) {
        unsafe {
            let v = v.cast::<i32>();
            let z = _mm256_setzero_si256();
            let (mut a00, mut a01, mut a10, mut a11, mut a20, mut a21) = (z, z, z, z, z, z);
            let (mut a30, mut a31, mut a40, mut a41, mut a50, mut a51) = (z, z, z, z, z, z);
            for p in 0..pairs {
                let w = u.add(2 * p * po);
                let w0 = _mm256_loadu_si256(w.cast());
                let w1 = _mm256_loadu_si256(w.add(16).cast());
                let x = v.add(p);
                let dot = |t: usize, w| {
                    _mm256_madd_epi16(_mm256_set1_epi32(x.add(t * pairs).read_unaligned()), w)
                };
                a00 = _mm256_add_epi32(a00, dot(0, w0));
                a01 = _mm256_add_epi32(a01, dot(0, w1));
                a10 = _mm256_add_epi32(a10, dot(1, w0));
                a11 = _mm256_add_epi32(a11, dot(1, w1));
                a20 = _mm256_add_epi32(a20, dot(2, w0));
                a21 = _mm256_add_epi32(a21, dot(2, w1));
                a30 = _mm256_add_epi32(a30, dot(3, w0));
                a31 = _mm256_add_epi32(a31, dot(3, w1));
                a40 = _mm256_add_epi32(a40, dot(4, w0));
                a41 = _mm256_add_epi32(a41, dot(4, w1));
                a50 = _mm256_add_epi32(a50, dot(5, w0));
                a51 = _mm256_add_epi32(a51, dot(5, w1));
            }
            let acc = [
                (a00, a01),
                (a10, a11),
                (a20, a21),
                (a30, a31),
                (a40, a41),
                (a50, a51),
            ];
            for (r, (lo, hi)) in acc.into_iter().enumerate().take(rows) {
                _mm256_storeu_si256(m.add(r * po).cast(), lo);
                _mm256_storeu_si256(m.add(r * po + 8).cast(), hi);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::int8::conv2d_int8;
    use crate::testing::{max_diff, values};

    #[test]
    fn equals_the_direct_int8_convolution() {
        // Odd and even sizes and channel counts (a half-empty last pair), channel counts off
        // the 16-lane blocks, batch 2, signed and one-sided ranges, one that clips.
        for (c, co, h, w, range) in [
            (16, 20, 7, 9, (-1.0, 1.0)),
            (17, 16, 10, 4, (0.0, 1.0)),
            (3, 33, 1, 1, (-0.3, 0.2)),
            (64, 64, 13, 30, (-0.8, 0.9)),
        ] {
            let x = FeatureMap::from_nchw(2, c, h, w, &values(2 * c * h * w, 3), 1);
            let weight = values(co * c * 9, 4);
            let bias = values(co, 5);
            let direct = QuantizedConv::new(
                &weight,
                Some(&bias),
                co,
                c,
                3,
                1,
                Quantizer::from_range(range.0, range.1),
            );
            let expected = conv2d_int8(&x, &direct).to_nchw();
            let out = conv3x3_winograd_int8(&x, &WinogradInt8Conv::new(&direct));
            assert_eq!(out.dims(), [2, co, h, w]);
            let largest = expected.iter().fold(0.0f32, |m, v| m.max(v.abs()));
            let diff = max_diff(&out.to_nchw(), &expected);
            assert!(
                diff <= 1e-5 * largest,
                "c {c} co {co} {h}x{w}: {diff} of {largest}"
            );
        }
    }
}
