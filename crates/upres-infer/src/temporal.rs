//! Less flicker between upscaled frames: each new result is blended with the previous result
//! moved by the motion between the two input frames. Where the moved previous result
//! disagrees with the new one (something moved on its own, a cut), the new one wins, so
//! steadiness never costs a ghost.
//!
//! Motion is one global translation per frame, found to a fraction of a pixel on the inputs'
//! luma (pans, tilts and camera shake; local motion falls to the disagreement test).

use upres_image::Image;

/// The largest shift searched, in input pixels per frame.
const SEARCH: i32 = 8;
/// A disagreement (in 8-bit levels) at which the previous result's weight has fallen to
/// 1/e: below it the two agree up to flicker, above it they show different things.
const AGREEMENT: f32 = 12.0;

/// Blends each upscaled frame with the motion-compensated previous one.
pub struct TemporalBlend {
    /// Weight of the previous result where the two agree, in [0, 1).
    strength: f32,
    previous: Option<(Vec<f32>, Image)>,
}

impl TemporalBlend {
    pub fn new(strength: f32) -> Self {
        Self {
            strength: strength.clamp(0.0, 0.95),
            previous: None,
        }
    }

    /// The steadied version of `upscaled`, the result for input frame `low_res`.
    pub fn apply(&mut self, low_res: &Image, upscaled: Image) -> Image {
        let luma = luma_of(low_res);
        let out = match &self.previous {
            Some((previous_luma, previous_out)) => {
                let (dx, dy) =
                    global_shift(previous_luma, &luma, low_res.width(), low_res.height());
                let scale = upscaled.width() as f32 / low_res.width() as f32;
                match translate(previous_out, dx * scale, dy * scale) {
                    Some(moved) => self.blend(upscaled, &moved),
                    None => upscaled,
                }
            }
            None => upscaled,
        };
        self.previous = Some((luma, out.clone()));
        out
    }

    fn blend(&self, mut current: Image, moved: &Image) -> Image {
        let to_8_bit = 255.0 / current.depth().max_value();
        let c = current.channels();
        for (px, old) in current
            .data_mut()
            .chunks_exact_mut(c)
            .zip(moved.data().chunks_exact(c))
        {
            if old[0].is_nan() {
                continue; // moved in from outside the previous frame
            }
            let gap = px
                .iter()
                .zip(old)
                .map(|(a, b)| (a - b).abs())
                .fold(0.0f32, f32::max)
                * to_8_bit;
            let weight = self.strength * (-(gap / AGREEMENT).powi(2)).exp();
            for (a, b) in px.iter_mut().zip(old) {
                *a += weight * (b - *a);
            }
        }
        current
    }
}

/// Mean of the colour channels, as a cheap luma for motion search.
fn luma_of(image: &Image) -> Vec<f32> {
    let c = image.layout().color_channels();
    image
        .data()
        .chunks_exact(image.channels())
        .map(|px| px[..c].iter().sum::<f32>() / c as f32)
        .collect()
}

/// Mean squared difference of `b` shifted by (dx, dy) against `a`, over their overlap.
fn mismatch(a: &[f32], b: &[f32], w: usize, h: usize, dx: i32, dy: i32) -> f32 {
    let (w, h) = (w as i32, h as i32);
    let (x0, x1) = ((-dx).max(0), (w - dx).min(w));
    let (y0, y1) = ((-dy).max(0), (h - dy).min(h));
    if x1 - x0 < w / 2 || y1 - y0 < h / 2 {
        return f32::INFINITY;
    }
    let mut sum = 0.0f64;
    for y in y0..y1 {
        let (ra, rb) = ((y * w) as usize, ((y + dy) * w) as usize);
        for x in x0..x1 {
            let d = b[rb + (x + dx) as usize] - a[ra + x as usize];
            sum += f64::from(d * d);
        }
    }
    (sum / f64::from((x1 - x0) * (y1 - y0))) as f32
}

/// The translation (dx, dy) that carries frame `a` onto frame `b` (b(x + d) ≈ a(x)): the
/// best whole-pixel shift, then a few Gauss-Newton steps on the sub-pixel remainder (the
/// Lucas-Kanade update over the whole frame).
fn global_shift(a: &[f32], b: &[f32], w: usize, h: usize) -> (f32, f32) {
    let mut best = (0, 0, f32::INFINITY);
    for dy in -SEARCH..=SEARCH {
        for dx in -SEARCH..=SEARCH {
            let m = mismatch(a, b, w, h, dx, dy);
            if m < best.2 {
                best = (dx, dy, m);
            }
        }
    }
    let (mut dx, mut dy) = (best.0 as f32, best.1 as f32);
    let sample = |x: f32, y: f32| {
        let (x0, y0) = (x.floor() as usize, y.floor() as usize);
        let (fx, fy) = (x - x0 as f32, y - y0 as f32);
        let at = |x: usize, y: usize| b[y * w + x];
        let top = at(x0, y0) + fx * (at(x0 + 1, y0) - at(x0, y0));
        let bottom = at(x0, y0 + 1) + fx * (at(x0 + 1, y0 + 1) - at(x0, y0 + 1));
        top + fy * (bottom - top)
    };
    for _ in 0..4 {
        // Normal equations of min over f of sum (b(x + d + f) - a(x))^2, b's gradient
        // taken as a's (they agree where the shift is right).
        let (mut gxx, mut gxy, mut gyy, mut gxr, mut gyr) = (0.0f64, 0.0, 0.0, 0.0, 0.0);
        for y in 1..h - 1 {
            for x in 1..w - 1 {
                let (sx, sy) = (x as f32 + dx, y as f32 + dy);
                if sx < 0.0 || sy < 0.0 || sx >= (w - 1) as f32 || sy >= (h - 1) as f32 {
                    continue;
                }
                let gx = f64::from(a[y * w + x + 1] - a[y * w + x - 1]) / 2.0;
                let gy = f64::from(a[(y + 1) * w + x] - a[(y - 1) * w + x]) / 2.0;
                let r = f64::from(sample(sx, sy) - a[y * w + x]);
                gxx += gx * gx;
                gxy += gx * gy;
                gyy += gy * gy;
                gxr += gx * r;
                gyr += gy * r;
            }
        }
        let det = gxx * gyy - gxy * gxy;
        if det <= 1e-9 * (gxx + gyy).powi(2) {
            break; // no texture to measure motion by
        }
        let step_x = -(gyy * gxr - gxy * gyr) / det;
        let step_y = -(gxx * gyr - gxy * gxr) / det;
        dx += step_x.clamp(-1.0, 1.0) as f32;
        dy += step_y.clamp(-1.0, 1.0) as f32;
        if step_x.abs().max(step_y.abs()) < 1e-3 {
            break;
        }
    }
    (dx, dy)
}

/// `image` moved by (dx, dy) with bilinear interpolation; pixels that come from outside it are
/// NaN. `None` if the move leaves nothing of it.
fn translate(image: &Image, dx: f32, dy: f32) -> Option<Image> {
    let (w, h, c) = (image.width(), image.height(), image.channels());
    if dx.abs() >= w as f32 || dy.abs() >= h as f32 {
        return None;
    }
    let mut out = image.clone();
    let src = image.data();
    for y in 0..h {
        let sy = y as f32 - dy;
        for x in 0..w {
            let sx = x as f32 - dx;
            let dst = &mut out.data_mut()[(y * w + x) * c..][..c];
            if sx < 0.0 || sy < 0.0 || sx > (w - 1) as f32 || sy > (h - 1) as f32 {
                dst.fill(f32::NAN);
                continue;
            }
            let (x0, y0) = (sx.floor() as usize, sy.floor() as usize);
            let (x1, y1) = ((x0 + 1).min(w - 1), (y0 + 1).min(h - 1));
            let (fx, fy) = (sx - x0 as f32, sy - y0 as f32);
            for (ch, v) in dst.iter_mut().enumerate() {
                let at = |x: usize, y: usize| src[(y * w + x) * c + ch];
                let top = at(x0, y0) + fx * (at(x1, y0) - at(x0, y0));
                let bottom = at(x0, y1) + fx * (at(x1, y1) - at(x0, y1));
                *v = top + fy * (bottom - top);
            }
        }
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use upres_image::{Depth, Layout};

    /// A smooth, unrepetitive pattern sampled at (x - dx, y - dy).
    fn scene(w: usize, h: usize, dx: f32, dy: f32) -> Image {
        let data = (0..w * h)
            .map(|i| {
                let (x, y) = ((i % w) as f32 - dx, (i / w) as f32 - dy);
                128.0
                    + 60.0 * (0.31 * x).sin() * (0.23 * y).cos()
                    + 40.0 * (0.13 * x - 0.19 * y).sin()
            })
            .collect();
        Image::new(w, h, Layout::Gray, Depth::U8, data).unwrap()
    }

    #[test]
    fn finds_sub_pixel_shifts() {
        for (dx, dy) in [(0.0, 0.0), (1.25, -0.5), (-3.5, 2.25)] {
            let (a, b) = (scene(64, 48, 0.0, 0.0), scene(64, 48, dx, dy));
            let (fx, fy) = global_shift(&luma_of(&a), &luma_of(&b), 64, 48);
            assert!(
                (fx - dx).abs() < 0.15 && (fy - dy).abs() < 0.15,
                "({dx}, {dy}) found as ({fx}, {fy})"
            );
        }
    }

    #[test]
    fn steadies_flicker_but_not_change() {
        let mut blend = TemporalBlend::new(0.5);
        let frame = scene(32, 32, 0.0, 0.0);
        blend.apply(&frame, frame.clone());
        // The same scene with a flicker of 4 levels: pulled halfway back.
        let mut flickered = frame.clone();
        flickered.data_mut().iter_mut().for_each(|v| *v += 4.0);
        let out = blend.apply(&frame, flickered);
        let mean_gap = out
            .data()
            .iter()
            .zip(frame.data())
            .map(|(a, b)| a - b)
            .sum::<f32>()
            / out.data().len() as f32;
        assert!((mean_gap - 2.0).abs() < 0.3, "{mean_gap}");
        // A different picture: kept as it is.
        let other = scene(32, 32, 0.0, 0.0).to_depth(Depth::U8);
        let mut inverted = other.clone();
        inverted.data_mut().iter_mut().for_each(|v| *v = 255.0 - *v);
        let out = blend.apply(&frame, inverted.clone());
        let gaps: Vec<f32> = out
            .data()
            .iter()
            .zip(inverted.data())
            .map(|(a, b)| (a - b).abs())
            .collect();
        let mean = gaps.iter().sum::<f32>() / gaps.len() as f32;
        // Only pixels where the two pictures happen to be close are pulled, and little.
        assert!(mean < 0.5, "{mean}");
        assert!(gaps.iter().all(|&g| g < 3.0));
    }
}
