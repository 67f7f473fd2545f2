//! 3x3 convolutions by Winograd's minimal filtering F(2x2, 3x3) (Lavin and Gray, "Fast
//! Algorithms for Convolutional Neural Networks", CVPR 2016): each 2x2 block of outputs is
//! computed from a 4x4 input tile with 16 multiplications per channel pair instead of 36.
//!
//! Per row of tiles: the input tiles are transformed (`V = Bᵀ d B`, channels contiguous;
//! `Bᵀ d` once per pixel column, shared by the two tiles that read it),
//! 16 matrix products `M[k] = V[k] · U[k]` over the channels (`U = G g Gᵀ`, packed once per
//! layer) run on a 6 tiles x 16 output channels AVX2 micro-kernel, and the outputs are
//! transformed back (`Y = Aᵀ M A`) with the bias added.

use std::ops::{Add, Sub};

use rayon::prelude::*;

use crate::feature::{BORDER, FeatureMap};

const _: () = assert!(BORDER == 2, "the tile indexing below assumes a border of 2");
use crate::simd::simd_fn;

/// Output channels per micro-tile (two AVX2 vectors).
pub(crate) const LANES: usize = 16;
/// Tiles per micro-tile.
pub(crate) const TILE: usize = 6;
/// Tiles transformed and multiplied together: the transformed inputs and products of a chunk
/// (16 x 24 x channels each) stay in L2.
const CHUNK: usize = 24;

/// A 3x3 convolution's weights transformed for F(2x2, 3x3): `[16][c][co rounded up to 16]`.
#[derive(Debug, Clone)]
pub struct WinogradConv {
    channels_in: usize,
    channels_out: usize,
    /// `channels_out` rounded up to a multiple of [`LANES`].
    padded_out: usize,
    transformed: Vec<f32>,
    bias: Vec<f32>,
}

impl WinogradConv {
    /// Transforms `weight` (`[channels_out, channels_in, 3, 3]`) and `bias` for a stride-1
    /// convolution with one pixel of zero padding.
    pub fn new(
        weight: &[f32],
        bias: Option<&[f32]>,
        channels_out: usize,
        channels_in: usize,
    ) -> Self {
        assert_eq!(weight.len(), channels_out * channels_in * 9, "weight size");
        let padded_out = channels_out.next_multiple_of(LANES);
        let mut transformed = vec![0.0; 16 * channels_in * padded_out];
        for o in 0..channels_out {
            for i in 0..channels_in {
                let g = &weight[(o * channels_in + i) * 9..][..9];
                // G g: 4x3, then (G g) Gᵀ: 4x4, with G = [1 0 0; ½ ½ ½; ½ -½ ½; 0 0 1].
                let mut gg = [[0.0f32; 3]; 4];
                for col in 0..3 {
                    let (a, b, c) = (g[col], g[3 + col], g[6 + col]);
                    gg[0][col] = a;
                    gg[1][col] = 0.5 * (a + b + c);
                    gg[2][col] = 0.5 * (a - b + c);
                    gg[3][col] = c;
                }
                for (r, row) in gg.iter().enumerate() {
                    let [a, b, c] = *row;
                    let u = [a, 0.5 * (a + b + c), 0.5 * (a - b + c), c];
                    for (col, v) in u.into_iter().enumerate() {
                        transformed[((r * 4 + col) * channels_in + i) * padded_out + o] = v;
                    }
                }
            }
        }
        let mut padded_bias = vec![0.0; padded_out];
        if let Some(bias) = bias {
            assert_eq!(bias.len(), channels_out, "bias size");
            padded_bias[..channels_out].copy_from_slice(bias);
        }
        Self {
            channels_in,
            channels_out,
            padded_out,
            transformed,
            bias: padded_bias,
        }
    }
}

/// The 3x3 convolution (padding 1) of `x` by `conv`, with a border of [`BORDER`] (2) on
/// the output.
pub fn conv3x3_winograd(x: FeatureMap, conv: &WinogradConv) -> FeatureMap {
    assert_eq!(x.channels(), conv.channels_in, "input channels");
    // Tiles read 4x4 pixels from one pixel above and left of their outputs; a border of 2
    // lets the last tile of an odd size read zeros past the edge.
    let x = if x.pad() >= 2 { x } else { x.with_pad(2) };
    let [n, c, h, w] = x.dims();
    let pad = x.pad();
    convolve(conv, n, h, w, |img, y| {
        &x.padded_row(img, y + pad - 1)[(pad - 1) * c..]
    })
}

/// What differs between the `f32` and the INT8 F(2x2, 3x3) convolutions: the numbers each
/// step works in, and the steps written for them.
pub(crate) trait TileArithmetic: Sync {
    /// An input value: `f32`, or a quantized byte.
    type Pixel: Copy + Sync;
    /// A transformed input value.
    type Value: Copy + Default + Send;
    /// A sum of channel products.
    type Sum: Copy + Default + Send;

    fn channels_in(&self) -> usize;
    /// Values per transformed tile: the input channels, rounded up as the products need.
    fn tile_len(&self) -> usize;
    fn channels_out(&self) -> usize;
    /// Output channels rounded up to [`LANES`].
    fn padded_out(&self) -> usize;
    /// `Bᵀ d` of whole rows ([`b_transpose_rows`]).
    fn transform_columns(&self, d: [&[Self::Pixel]; 4], out: &mut [Self::Value]);
    /// `(Bᵀ d) B` of one tile ([`times_b`]), `V[k]` written `stride` apart.
    fn transform_rows(&self, t: [&[Self::Value]; 4], stride: usize, out: &mut [Self::Value]);
    /// `M[k] = V[k] U[k]` for the first `count` tiles of a chunk.
    fn multiply(&self, k: usize, v: &[Self::Value], count: usize, m: &mut [Self::Sum]);
    /// `Y = Aᵀ M A`, scaled and biased, of one tile (`M[k]` read `stride` apart).
    fn transform_output(&self, m: &[Self::Sum], stride: usize, y: [&mut [f32]; 4]);
}

/// The convolution of `n` images of `h` x `w` pixels by `conv`, with a border of [`BORDER`]
/// on the output: `row(img, y)` is padded input row `y` of image `img` (row 0 the first
/// image row less one), from one pixel left of the first image column, reaching at least
/// `2 ceil(w / 2) + 2` pixels.
pub(crate) fn convolve<'a, K: TileArithmetic>(
    conv: &K,
    n: usize,
    h: usize,
    w: usize,
    row: impl Fn(usize, usize) -> &'a [K::Pixel] + Sync,
) -> FeatureMap
where
    K::Pixel: 'a,
{
    let mut out = FeatureMap::for_overwrite(n, h, w, conv.channels_out(), BORDER);
    let out_row = (w + 2 * BORDER) * conv.channels_out();
    for img in 0..n {
        out.image_mut(img)[BORDER * out_row..(h + BORDER) * out_row]
            .par_chunks_mut(2 * out_row)
            .enumerate()
            .for_each_init(
                || Scratch::new(conv),
                |scratch, (ty, rows)| {
                    let lines = std::array::from_fn(|r| row(img, 2 * ty + r));
                    tile_row(conv, lines, w, rows, scratch);
                },
            );
    }
    out
}

/// A task's working memory, reused across its tile rows.
struct Scratch<V, S> {
    /// `Bᵀ d` of every pixel column the tile row reads: `[4][columns][c]`.
    columns: Vec<V>,
    /// Transformed input tiles of a chunk: `[16][CHUNK][tile length]`.
    v: Vec<V>,
    /// Their products with the weights: `[16][CHUNK][padded co]`.
    m: Vec<S>,
    /// One tile's 2x2 outputs, each `co` values, for tiles cut by the map's edge.
    y: [Vec<f32>; 4],
}

impl<V: Copy + Default, S: Copy + Default> Scratch<V, S> {
    fn new<K: TileArithmetic<Value = V, Sum = S>>(conv: &K) -> Self {
        Self {
            columns: Vec::new(),
            v: vec![V::default(); 16 * CHUNK * conv.tile_len()],
            m: vec![S::default(); 16 * CHUNK * conv.padded_out()],
            y: std::array::from_fn(|_| vec![0.0; conv.channels_out()]),
        }
    }
}

/// Output rows `2 ty` and `2 ty + 1` (`rows` holds one or two padded output rows) from the 4
/// input rows `lines` from one above the first of them.
fn tile_row<K: TileArithmetic>(
    conv: &K,
    lines: [&[K::Pixel]; 4],
    w: usize,
    rows: &mut [f32],
    scratch: &mut Scratch<K::Value, K::Sum>,
) {
    let (c, len, po) = (conv.channels_in(), conv.tile_len(), conv.padded_out());
    let tiles = w.div_ceil(2);
    let Scratch { columns, v, m, y } = scratch;
    // Bᵀ d once per pixel column, which neighbouring tiles share.
    let span = (2 * tiles + 2) * c;
    columns.resize(4 * span, K::Value::default());
    conv.transform_columns(lines.map(|line| &line[..span]), columns);
    let mut rows = OutputRows::new(rows, w, conv.channels_out());
    for first in (0..tiles).step_by(CHUNK) {
        let count = CHUNK.min(tiles - first);
        for t in 0..count {
            let at = 2 * (first + t) * c;
            let d = std::array::from_fn(|r| &columns[r * span + at..][..4 * c]);
            conv.transform_rows(d, CHUNK * len, &mut v[t * len..]);
        }
        for k in 0..16 {
            let vk = &v[k * CHUNK * len..][..CHUNK * len];
            conv.multiply(k, vk, count, &mut m[k * CHUNK * po..][..CHUNK * po]);
        }
        for t in 0..count {
            let m = &m[t * po..];
            rows.store(2 * (first + t), y, |y| {
                conv.transform_output(m, CHUNK * po, y)
            });
        }
    }
}

impl TileArithmetic for WinogradConv {
    type Pixel = f32;
    type Value = f32;
    type Sum = f32;

    fn channels_in(&self) -> usize {
        self.channels_in
    }

    fn tile_len(&self) -> usize {
        self.channels_in
    }

    fn channels_out(&self) -> usize {
        self.channels_out
    }

    fn padded_out(&self) -> usize {
        self.padded_out
    }

    fn transform_columns(&self, d: [&[f32]; 4], out: &mut [f32]) {
        transform_columns(d, out);
    }

    fn transform_rows(&self, t: [&[f32]; 4], stride: usize, out: &mut [f32]) {
        transform_rows(t, self.channels_in, stride, out);
    }

    fn multiply(&self, k: usize, v: &[f32], count: usize, m: &mut [f32]) {
        let (c, po) = (self.channels_in, self.padded_out);
        multiply(
            v,
            &self.transformed[k * c * po..][..c * po],
            c,
            po,
            count,
            m,
        );
    }

    fn transform_output(&self, m: &[f32], stride: usize, y: [&mut [f32]; 4]) {
        transform_output(m, stride, &self.bias[..self.channels_out], y);
    }
}

/// The one or two padded output rows of a tile row, written tile by tile.
struct OutputRows<'a> {
    row0: &'a mut [f32],
    row1: &'a mut [f32],
    width: usize,
    channels: usize,
}

impl<'a> OutputRows<'a> {
    /// `rows`: one or two padded output rows of `width` pixels of `channels`.
    fn new(rows: &'a mut [f32], width: usize, channels: usize) -> Self {
        let (row0, row1) = rows.split_at_mut((width + 2 * BORDER) * channels);
        Self {
            row0,
            row1,
            width,
            channels,
        }
    }

    /// Has `transform` write the 2x2 outputs of the tile at column `xo` (top left, top
    /// right, bottom left, bottom right): straight into the rows when the tile lies inside
    /// them, else into `scratch`, copied from there as far as the rows go.
    #[inline(always)]
    fn store(
        &mut self,
        xo: usize,
        scratch: &mut [Vec<f32>; 4],
        transform: impl FnOnce([&mut [f32]; 4]),
    ) {
        let co = self.channels;
        let at = (xo + BORDER) * co;
        if xo + 1 < self.width && !self.row1.is_empty() {
            let (y00, y01) = self.row0[at..at + 2 * co].split_at_mut(co);
            let (y10, y11) = self.row1[at..at + 2 * co].split_at_mut(co);
            transform([y00, y01, y10, y11]);
            return;
        }
        let [y00, y01, y10, y11] = scratch;
        transform([y00, y01, y10, y11]);
        for (r, out) in [&mut *self.row0, &mut *self.row1].into_iter().enumerate() {
            if !out.is_empty() {
                for dx in 0..2.min(self.width - xo) {
                    out[at + dx * co..][..co].copy_from_slice(&scratch[2 * r + dx]);
                }
            }
        }
    }
}

/// `Bᵀ d` for whole rows of pixels, `widen`ed first: `d[r]` holds row `r`, and row `k` of the
/// product is written at `out[k * len..][..len]`, with
/// Bᵀ = [1 0 -1 0; 0 1 1 0; 0 -1 1 0; 0 1 0 -1].
#[inline(always)]
pub(crate) fn b_transpose_rows<S: Copy, T>(d: [&[S]; 4], out: &mut [T], widen: impl Fn(S) -> T)
where
    T: Copy + Add<Output = T> + Sub<Output = T>,
{
    let len = d[0].len();
    let (t0, rest) = out.split_at_mut(len);
    let (t1, rest) = rest.split_at_mut(len);
    let (t2, t3) = rest.split_at_mut(len);
    let (d0, d1, d2, d3) = (&d[0][..len], &d[1][..len], &d[2][..len], &d[3][..len]);
    for i in 0..len {
        let (a, b, e, f) = (widen(d0[i]), widen(d1[i]), widen(d2[i]), widen(d3[i]));
        t0[i] = a - e;
        t1[i] = b + e;
        t2[i] = e - b;
        t3[i] = b - f;
    }
}

/// `V = (Bᵀ d) B` for one tile, channels in the inner loop: `t[r]` holds row `r` of `Bᵀ d`
/// (4 pixels x `c`), and `V[k]` is written at `out[k * stride..][..c]`.
#[inline(always)]
pub(crate) fn times_b<T>(t: [&[T]; 4], c: usize, stride: usize, out: &mut [T])
where
    T: Copy + Add<Output = T> + Sub<Output = T>,
{
    for (r, row) in t.iter().enumerate() {
        let (p0, p1, p2, p3) = (
            &row[..c],
            &row[c..2 * c],
            &row[2 * c..3 * c],
            &row[3 * c..4 * c],
        );
        for i in 0..c {
            let (a, b, e, f) = (p0[i], p1[i], p2[i], p3[i]);
            out[(r * 4) * stride + i] = a - e;
            out[(r * 4 + 1) * stride + i] = b + e;
            out[(r * 4 + 2) * stride + i] = e - b;
            out[(r * 4 + 3) * stride + i] = b - f;
        }
    }
}

simd_fn! {
    /// [`b_transpose_rows`] of `f32` rows.
    fn transform_columns(d: [&[f32]; 4], out: &mut [f32]) {
        b_transpose_rows(d, out, |x| x);
    }
}

simd_fn! {
    /// [`times_b`] of `f32` values.
    fn transform_rows(t: [&[f32]; 4], c: usize, stride: usize, out: &mut [f32]) {
        times_b(t, c, stride, out);
    }
}

simd_fn! {
    /// `Y = Aᵀ M A + bias` for one tile, channels in the inner loop: `M[k]` is read at
    /// `m[k * stride..][..co]`, and `y` receives the outputs (top left, top right, bottom
    /// left, bottom right), with Aᵀ = [1 1 1 0; 0 1 -1 -1].
    fn transform_output(m: &[f32], stride: usize, bias: &[f32], y: [&mut [f32]; 4]) {
        let [y00, y01, y10, y11] = y;
        for (o, &b) in bias.iter().enumerate() {
            let mut s = [[0.0f32; 4]; 2];
            for col in 0..4 {
                let p0 = m[col * stride + o];
                let p1 = m[(4 + col) * stride + o];
                let p2 = m[(8 + col) * stride + o];
                let p3 = m[(12 + col) * stride + o];
                s[0][col] = p0 + p1 + p2;
                s[1][col] = p1 - p2 - p3;
            }
            y00[o] = s[0][0] + s[0][1] + s[0][2] + b;
            y01[o] = s[0][1] - s[0][2] - s[0][3] + b;
            y10[o] = s[1][0] + s[1][1] + s[1][2] + b;
            y11[o] = s[1][1] - s[1][2] - s[1][3] + b;
        }
    }
}

/// `m[t][o] = sum over i of v[t][i] * u[i][o]` for `count` tiles (`po` output channels, a
/// multiple of 16).
fn multiply(v: &[f32], u: &[f32], c: usize, po: usize, count: usize, m: &mut [f32]) {
    for_each_micro_tile(po, count, |block, t, rows| {
        micro_tile(
            &v[t * c..],
            c,
            &u[block..],
            po,
            &mut m[t * po + block..],
            rows,
        );
    });
}

/// Calls `tile(block, t, rows)` for the micro-tiles that cover `count` tiles by `po` output
/// channels: 16 channels from `block` by `rows` (at most 6) tiles from `t`.
pub(crate) fn for_each_micro_tile(
    po: usize,
    count: usize,
    mut tile: impl FnMut(usize, usize, usize),
) {
    for block in (0..po).step_by(LANES) {
        for t in (0..count).step_by(TILE) {
            tile(block, t, TILE.min(count - t));
        }
    }
}

/// `m[r * po + l] = sum over i < c of v[r * c + i] * u[i * po + l]` for `r < rows` (at most
/// 6 tiles) and 16 channels. Rows past `rows` read the rest of `v` (zeros or stale values)
/// and are not stored.
#[inline(always)]
fn micro_tile(v: &[f32], c: usize, u: &[f32], po: usize, m: &mut [f32], rows: usize) {
    #[cfg(target_arch = "x86_64")]
    if crate::simd::has_avx2_fma() {
        assert!(v.len() >= TILE * c && u.len() >= (c - 1) * po + LANES);
        assert!(rows <= TILE && m.len() >= (rows - 1) * po + LANES);
        // SAFETY: the CPU has AVX2 and FMA; the accesses are within the bounds checked above.
        unsafe { avx2::micro_tile(v.as_ptr(), c, u.as_ptr(), po, m.as_mut_ptr(), rows) };
        return;
    }
    for r in 0..rows {
        for l in 0..LANES {
            m[r * po + l] = (0..c).map(|i| v[r * c + i] * u[i * po + l]).sum();
        }
    }
}

#[cfg(target_arch = "x86_64")]
mod avx2 {
    use std::arch::x86_64::*;

    /// 6 tiles x 16 output channels in 12 accumulators: per input channel, two vectors of
    /// `u` and one broadcast per tile; the first `rows` tiles are stored at `m`, `po` apart.
    ///
    /// # Safety
    /// The CPU must have AVX2 and FMA; `v` must hold `6 * c` floats, `u` at least
    /// `(c - 1) * po + 16` and `m` at least `(rows - 1) * po + 16`, with `rows <= 6`.
    #[target_feature(enable = "avx2,fma")]
    pub unsafe fn micro_tile(
        v: *const f32,
        c: usize,
        u: *const f32,
        po: usize,
        m: *mut f32,
        rows: usize,
    ) {
        unsafe {
            let z = _mm256_setzero_ps();
            let (mut a00, mut a01, mut a10, mut a11, mut a20, mut a21) = (z, z, z, z, z, z);
            let (mut a30, mut a31, mut a40, mut a41, mut a50, mut a51) = (z, z, z, z, z, z);
            for i in 0..c {
                let w = u.add(i * po);
                let w0 = _mm256_loadu_ps(w);
                let w1 = _mm256_loadu_ps(w.add(8));
                let p = v.add(i);
                let x = _mm256_broadcast_ss(&*p);
                a00 = _mm256_fmadd_ps(x, w0, a00);
                a01 = _mm256_fmadd_ps(x, w1, a01);
                let x = _mm256_broadcast_ss(&*p.add(c));
                a10 = _mm256_fmadd_ps(x, w0, a10);
                a11 = _mm256_fmadd_ps(x, w1, a11);
                let x = _mm256_broadcast_ss(&*p.add(2 * c));
                a20 = _mm256_fmadd_ps(x, w0, a20);
                a21 = _mm256_fmadd_ps(x, w1, a21);
                let x = _mm256_broadcast_ss(&*p.add(3 * c));
                a30 = _mm256_fmadd_ps(x, w0, a30);
                a31 = _mm256_fmadd_ps(x, w1, a31);
                let x = _mm256_broadcast_ss(&*p.add(4 * c));
                a40 = _mm256_fmadd_ps(x, w0, a40);
                a41 = _mm256_fmadd_ps(x, w1, a41);
                let x = _mm256_broadcast_ss(&*p.add(5 * c));
                a50 = _mm256_fmadd_ps(x, w0, a50);
                a51 = _mm256_fmadd_ps(x, w1, a51);
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
                _mm256_storeu_ps(m.add(r * po), lo);
                _mm256_storeu_ps(m.add(r * po + 8), hi);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::conv::{PackedConv, conv2d};

    #[test]
    fn equals_the_direct_convolution() {
        // Odd and even sizes, channel counts off the 16-lane blocks, batch 2.
        for (c, co, h, w) in [
            (16, 20, 7, 9),
            (24, 16, 10, 4),
            (19, 33, 1, 1),
            (64, 64, 13, 30),
        ] {
            let values: Vec<f32> = (0..2 * c * h * w)
                .map(|i| ((i * 37 % 101) as f32 / 50.0) - 1.0)
                .collect();
            let weight: Vec<f32> = (0..co * c * 9)
                .map(|i| ((i * 53 % 97) as f32 / 97.0) - 0.5)
                .collect();
            let bias: Vec<f32> = (0..co).map(|i| i as f32 * 0.1).collect();
            let x = FeatureMap::from_nchw(2, c, h, w, &values, 1);
            let direct = conv2d(
                x.clone(),
                &PackedConv::new(&weight, Some(&bias), co, c, 3, 1),
            );
            let fast = conv3x3_winograd(x, &WinogradConv::new(&weight, Some(&bias), co, c));
            assert_eq!(fast.dims(), direct.dims());
            let diff = fast
                .to_nchw()
                .iter()
                .zip(direct.to_nchw())
                .map(|(a, b)| (a - b).abs())
                .fold(0.0f32, f32::max);
            assert!(diff < 1e-4, "c {c} co {co} {h}x{w}: {diff}");
        }
    }
}
