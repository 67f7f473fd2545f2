//! Operations that move values between pixels and channels, resize, or pool.

use crate::feature::{BORDER, FeatureMap};

/// `[N, C * r^2, H, W]` to `[N, C, H * r, W * r]`: channel `c * r^2 + i * r + j` of pixel
/// `(y, x)` goes to channel `c` of pixel `(y * r + i, x * r + j)` (PyTorch's `PixelShuffle`).
pub fn pixel_shuffle(x: &FeatureMap, r: usize) -> FeatureMap {
    let [n, cin, h, w] = x.dims();
    assert_eq!(cin % (r * r), 0, "pixel shuffle of {cin} channels by {r}");
    let c = cin / (r * r);
    let mut out = FeatureMap::for_overwrite(n, h * r, w * r, c, BORDER);
    for img in 0..n {
        for y in 0..h {
            let src = x.row(img, y);
            for i in 0..r {
                let dst = out.row_mut(img, y * r + i);
                for xs in 0..w {
                    for j in 0..r {
                        let d = &mut dst[(xs * r + j) * c..][..c];
                        for (ch, v) in d.iter_mut().enumerate() {
                            *v = src[xs * cin + ch * r * r + i * r + j];
                        }
                    }
                }
            }
        }
    }
    out
}

/// The inverse of [`pixel_shuffle`] (PyTorch's `PixelUnshuffle`).
pub fn pixel_unshuffle(x: &FeatureMap, r: usize) -> FeatureMap {
    let [n, c, h, w] = x.dims();
    assert!(
        h % r == 0 && w % r == 0,
        "pixel unshuffle of {w}x{h} by {r}"
    );
    let cout = c * r * r;
    let mut out = FeatureMap::for_overwrite(n, h / r, w / r, cout, BORDER);
    for img in 0..n {
        for y in 0..h / r {
            for i in 0..r {
                let src = x.row(img, y * r + i).to_vec();
                let dst = out.row_mut(img, y);
                for xd in 0..w / r {
                    for j in 0..r {
                        for ch in 0..c {
                            dst[xd * cout + ch * r * r + i * r + j] = src[(xd * r + j) * c + ch];
                        }
                    }
                }
            }
        }
    }
    out
}

/// Each pixel repeated `factor x factor` times.
pub fn upsample_nearest(x: &FeatureMap, factor: usize) -> FeatureMap {
    let [n, c, h, w] = x.dims();
    let mut out = FeatureMap::for_overwrite(n, h * factor, w * factor, c, BORDER);
    for img in 0..n {
        for y in 0..h * factor {
            let src = x.row(img, y / factor);
            let dst = out.row_mut(img, y);
            for (xd, d) in dst.chunks_exact_mut(c).enumerate() {
                d.copy_from_slice(&src[(xd / factor) * c..][..c]);
            }
        }
    }
    out
}

/// Bilinear upsampling by `factor` as PyTorch's `align_corners=False`: source coordinate
/// `(dst + 0.5) / factor - 0.5`, clamped at 0, the far neighbour clamped at the edge.
pub fn upsample_bilinear(x: &FeatureMap, factor: usize) -> FeatureMap {
    let [n, c, h, w] = x.dims();
    let taps = |dst: usize, size: usize| {
        let src = ((dst as f32 + 0.5) / factor as f32 - 0.5).max(0.0);
        let i0 = (src as usize).min(size - 1);
        let i1 = (i0 + 1).min(size - 1);
        (i0, i1, src - i0 as f32)
    };
    let columns: Vec<_> = (0..w * factor).map(|xd| taps(xd, w)).collect();
    let mut out = FeatureMap::for_overwrite(n, h * factor, w * factor, c, BORDER);
    for img in 0..n {
        for yd in 0..h * factor {
            let (y0, y1, fy) = taps(yd, h);
            let (r0, r1) = (x.row(img, y0).to_vec(), x.row(img, y1));
            let dst = out.row_mut(img, yd);
            for (d, &(x0, x1, fx)) in dst.chunks_exact_mut(c).zip(&columns) {
                for (ch, v) in d.iter_mut().enumerate() {
                    let top = r0[x0 * c + ch] * (1.0 - fx) + r0[x1 * c + ch] * fx;
                    let bottom = r1[x0 * c + ch] * (1.0 - fx) + r1[x1 * c + ch] * fx;
                    *v = top * (1.0 - fy) + bottom * fy;
                }
            }
        }
    }
    out
}

/// Resized to `out_h x out_w` with PyTorch's bicubic (`align_corners=False`): a = -0.75,
/// source `(dst + 0.5) * in / out - 0.5`, four taps clamped to the edges, no antialiasing.
pub fn resize_bicubic(x: &FeatureMap, out_h: usize, out_w: usize) -> FeatureMap {
    let [n, c, h, w] = x.dims();
    let columns = cubic_taps(w, out_w);
    let mut out = FeatureMap::for_overwrite(n, out_h, out_w, c, BORDER);
    let mut row = vec![0.0f32; w * c];
    for img in 0..n {
        for (yd, (ys, wy)) in cubic_taps(h, out_h).into_iter().enumerate() {
            row.iter_mut().for_each(|v| *v = 0.0);
            for (&y, &k) in ys.iter().zip(&wy) {
                for (r, s) in row.iter_mut().zip(x.row(img, y)) {
                    *r += k * s;
                }
            }
            let dst = out.row_mut(img, yd);
            for (d, (xs, wx)) in dst.chunks_exact_mut(c).zip(&columns) {
                d.iter_mut().for_each(|v| *v = 0.0);
                for (&xi, &k) in xs.iter().zip(wx) {
                    for (v, s) in d.iter_mut().zip(&row[xi * c..(xi + 1) * c]) {
                        *v += k * s;
                    }
                }
            }
        }
    }
    out
}

/// Per output position along an axis of `size` resized to `out`: the four source indices
/// and their weights.
fn cubic_taps(size: usize, out: usize) -> Vec<([usize; 4], [f32; 4])> {
    const A: f64 = -0.75;
    let weight = |d: f64| {
        let d = d.abs();
        if d <= 1.0 {
            ((A + 2.0) * d - (A + 3.0)) * d * d + 1.0
        } else if d < 2.0 {
            ((A * d - 5.0 * A) * d + 8.0 * A) * d - 4.0 * A
        } else {
            0.0
        }
    };
    let ratio = size as f64 / out as f64;
    (0..out)
        .map(|dst| {
            let src = (dst as f64 + 0.5) * ratio - 0.5;
            let base = src.floor();
            let mut indices = [0; 4];
            let mut weights = [0.0; 4];
            for (k, offset) in (-1..=2).enumerate() {
                let i = base as isize + offset;
                indices[k] = i.clamp(0, size as isize - 1) as usize;
                weights[k] = weight(src - i as f64) as f32;
            }
            (indices, weights)
        })
        .collect()
}

/// The maps' channels side by side (same batch and size).
pub fn concat_channels(xs: &[FeatureMap]) -> FeatureMap {
    let [n, _, h, w] = xs[0].dims();
    let c: usize = xs.iter().map(FeatureMap::channels).sum();
    let mut out = FeatureMap::for_overwrite(n, h, w, c, BORDER);
    for img in 0..n {
        for y in 0..h {
            let dst = out.row_mut(img, y);
            let mut first = 0;
            for x in xs {
                assert_eq!(
                    [x.batch(), x.height(), x.width()],
                    [n, h, w],
                    "concatenated sizes"
                );
                let cx = x.channels();
                for (d, s) in dst.chunks_exact_mut(c).zip(x.row(img, y).chunks_exact(cx)) {
                    d[first..first + cx].copy_from_slice(s);
                }
                first += cx;
            }
        }
    }
    out
}

/// The mean of each channel over the image: `[N, C, 1, 1]`.
pub fn global_mean(x: &FeatureMap) -> FeatureMap {
    let [n, c, h, w] = x.dims();
    let mut out = FeatureMap::for_overwrite(n, 1, 1, c, 0);
    for img in 0..n {
        let mut sums = vec![0.0f64; c];
        for y in 0..h {
            for px in x.row(img, y).chunks_exact(c) {
                for (s, v) in sums.iter_mut().zip(px) {
                    *s += *v as f64;
                }
            }
        }
        for (d, s) in out.row_mut(img, 0).iter_mut().zip(sums) {
            *d = (s / (h * w) as f64) as f32;
        }
    }
    out
}

/// `x * gate`, `gate` holding one value per image and channel (`[N, C, 1, 1]`).
pub fn mul_per_channel(mut x: FeatureMap, gate: &FeatureMap) -> FeatureMap {
    let [n, c, h, _] = x.dims();
    assert_eq!(gate.dims(), [n, c, 1, 1], "channel gate size");
    for img in 0..n {
        let g = gate.row(img, 0).to_vec();
        for y in 0..h {
            for px in x.row_mut(img, y).chunks_exact_mut(c) {
                for (v, g) in px.iter_mut().zip(&g) {
                    *v *= g;
                }
            }
        }
    }
    x
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shuffle_then_unshuffle_is_identity_and_follows_pytorch_order() {
        // One pixel, 4 channels, r = 2: channels 0..4 become the 2x2 block in row order.
        let x = FeatureMap::from_nchw(1, 4, 1, 1, &[1.0, 2.0, 3.0, 4.0], BORDER);
        let y = pixel_shuffle(&x, 2);
        assert_eq!(y.dims(), [1, 1, 2, 2]);
        assert_eq!(y.to_nchw(), vec![1.0, 2.0, 3.0, 4.0]);
        let values: Vec<f32> = (0..2 * 8 * 3 * 5).map(|v| v as f32).collect();
        let x = FeatureMap::from_nchw(2, 8, 3, 5, &values, 0);
        let back = pixel_unshuffle(&pixel_shuffle(&x, 2), 2);
        assert_eq!(back.to_nchw(), values);
    }

    #[test]
    fn bilinear_matches_pytorch_half_pixel_rule() {
        // F.interpolate(torch.tensor([[[[0., 1.], [2., 3.]]]]), scale_factor=2,
        //               mode='bilinear', align_corners=False)
        let expected = [
            0.0, 0.25, 0.75, 1.0, 0.5, 0.75, 1.25, 1.5, 1.5, 1.75, 2.25, 2.5, 2.0, 2.25, 2.75, 3.0,
        ];
        let x = FeatureMap::from_nchw(1, 1, 2, 2, &[0.0, 1.0, 2.0, 3.0], BORDER);
        assert_eq!(upsample_bilinear(&x, 2).to_nchw(), expected);
    }

    #[test]
    fn concat_pool_and_gate() {
        let a = FeatureMap::from_nchw(1, 1, 1, 2, &[1.0, 3.0], BORDER);
        let b = FeatureMap::from_nchw(1, 2, 1, 2, &[5.0, 7.0, 9.0, 11.0], 0);
        let cat = concat_channels(&[a, b]);
        assert_eq!(cat.to_nchw(), vec![1.0, 3.0, 5.0, 7.0, 9.0, 11.0]);
        let mean = global_mean(&cat);
        assert_eq!(mean.to_nchw(), vec![2.0, 6.0, 10.0]);
        let gated = mul_per_channel(cat, &mean);
        assert_eq!(gated.to_nchw(), vec![2.0, 6.0, 30.0, 42.0, 90.0, 110.0]);
    }
}
