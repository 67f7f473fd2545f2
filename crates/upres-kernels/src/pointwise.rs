//! Pointwise operations on [`FeatureMap`]s, in place.

use crate::feature::FeatureMap;
use crate::simd::simd_fn;

/// A pointwise activation.
#[derive(Debug, Clone, PartialEq)]
pub enum Act {
    /// `max(x, 0)`.
    Relu,
    /// Hyperbolic tangent.
    Tanh,
    /// Logistic sigmoid.
    Sigmoid,
    /// `x` if positive, else `slope * x`.
    LeakyRelu(f32),
    /// Leaky ReLU with one slope per channel, or one slope for all.
    PRelu(Vec<f32>),
}

/// Applies `act` to every value of `x`.
pub fn activate(mut x: FeatureMap, act: &Act) -> FeatureMap {
    let c = x.channels();
    x.for_each_row(|row| match act {
        Act::Relu => relu_all(row),
        Act::Tanh => tanh_all(row),
        Act::Sigmoid => sigmoid_all(row),
        Act::LeakyRelu(slope) => leaky_all(row, *slope),
        Act::PRelu(slopes) if slopes.len() == 1 => leaky_all(row, slopes[0]),
        Act::PRelu(slopes) => {
            assert_eq!(slopes.len(), c, "one PReLU slope per channel");
            prelu_pixels(row, slopes)
        }
    });
    x
}

/// `scale[c] * x + shift[c]` per channel (batch norm at inference, mean shifts).
pub fn affine_per_channel(mut x: FeatureMap, scale: &[f32], shift: &[f32]) -> FeatureMap {
    let c = x.channels();
    assert!(
        scale.len() == c && shift.len() == c,
        "one scale and shift per channel"
    );
    x.for_each_row(|row| affine_pixels(row, scale, shift));
    x
}

/// `a + b` (same sizes; the border of `b` is matched to `a`'s).
pub fn add(mut a: FeatureMap, b: FeatureMap) -> FeatureMap {
    assert_eq!(a.dims(), b.dims(), "sum of feature maps of different sizes");
    let b = b.with_pad(a.pad());
    // Borders and slack are zero in both, so the whole buffers can be added.
    add_all(a.raw_mut(), b.raw());
    a
}

/// `x * factor`.
pub fn scale(mut x: FeatureMap, factor: f32) -> FeatureMap {
    scale_all(x.raw_mut(), factor);
    x
}

simd_fn! {
    fn relu_all(values: &mut [f32]) {
        values.iter_mut().for_each(|v| *v = v.max(0.0));
    }
}

simd_fn! {
    fn tanh_all(values: &mut [f32]) {
        values.iter_mut().for_each(|v| *v = tanh(*v));
    }
}

simd_fn! {
    fn sigmoid_all(values: &mut [f32]) {
        values.iter_mut().for_each(|v| *v = sigmoid(*v));
    }
}

simd_fn! {
    fn leaky_all(values: &mut [f32], slope: f32) {
        values.iter_mut().for_each(|v| *v = leaky(*v, slope));
    }
}

simd_fn! {
    fn prelu_pixels(values: &mut [f32], slopes: &[f32]) {
        for px in values.chunks_exact_mut(slopes.len()) {
            for (v, &s) in px.iter_mut().zip(slopes) {
                *v = leaky(*v, s);
            }
        }
    }
}

simd_fn! {
    fn affine_pixels(values: &mut [f32], scale: &[f32], shift: &[f32]) {
        for px in values.chunks_exact_mut(scale.len()) {
            for ((v, &a), &b) in px.iter_mut().zip(scale).zip(shift) {
                *v = a * *v + b;
            }
        }
    }
}

simd_fn! {
    fn add_all(a: &mut [f32], b: &[f32]) {
        a.iter_mut().zip(b).for_each(|(x, y)| *x += y);
    }
}

simd_fn! {
    fn scale_all(values: &mut [f32], factor: f32) {
        values.iter_mut().for_each(|v| *v *= factor);
    }
}

#[inline(always)]
fn leaky(v: f32, slope: f32) -> f32 {
    if v > 0.0 { v } else { v * slope }
}

/// `exp(x)` to about 2 ulp, branch-free so that loops over it vectorise: `x = n ln2 + r`,
/// `|r| <= ln2 / 2`, Cephes' degree-7 polynomial for `exp(r)`, and `2^n` built in the exponent
/// bits. Inputs are clamped to the range where the result is a normal float.
#[inline(always)]
fn exp(x: f32) -> f32 {
    const LOG2E: f32 = std::f32::consts::LOG2_E;
    const LN2_HI: f32 = 0.693_359_4;
    const LN2_LO: f32 = -2.121_944_4e-4;
    // Adding and subtracting 1.5 * 2^23 rounds to the nearest integer without `round`.
    const ROUND: f32 = 12_582_912.0;
    let x = x.clamp(-87.0, 88.0);
    let n = (x * LOG2E + ROUND) - ROUND;
    let r = (x - n * LN2_HI) - n * LN2_LO;
    let p = 1.987_569_2e-4;
    let p = p * r + 1.398_199_9e-3;
    let p = p * r + 8.333_452e-3;
    let p = p * r + 4.166_579_6e-2;
    let p = p * r + 1.666_666_5e-1;
    let p = p * r + 0.5;
    let p = p * r * r + r + 1.0;
    // 2^n in the exponent bits. `n + 127 + 2^23` is an exact float whose low mantissa bits
    // are `n + 127`; shifting them into the exponent avoids a float-to-int conversion, which
    // Rust's saturating `as` would keep from vectorising.
    let bits = (n + 127.0 + 8_388_608.0).to_bits() << 23;
    p * f32::from_bits(bits)
}

#[inline(always)]
fn tanh(x: f32) -> f32 {
    // tanh(x) = (e^2x - 1) / (e^2x + 1); |x| > 9 is +-1 in f32.
    let e = exp(2.0 * x.clamp(-9.0, 9.0));
    (e - 1.0) / (e + 1.0)
}

#[inline(always)]
fn sigmoid(x: f32) -> f32 {
    1.0 / (1.0 + exp(-x))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exp_tanh_sigmoid_match_std() {
        for i in -2000..=2000 {
            let x = i as f32 / 100.0;
            let rel = (exp(x) - x.exp()).abs() / x.exp();
            assert!(rel < 5e-7, "exp({x}): {} vs {}", exp(x), x.exp());
            assert!((tanh(x) - x.tanh()).abs() < 3e-7, "tanh({x})");
            let s = 1.0 / (1.0 + (-x).exp());
            assert!((sigmoid(x) - s).abs() < 3e-7, "sigmoid({x})");
        }
    }

    #[test]
    fn activations_keep_the_border_zero() {
        let values: Vec<f32> = (0..12).map(|i| i as f32 - 6.0).collect();
        let map = FeatureMap::from_interleaved(1, 2, 3, 2, &values, 1.0, 1);
        let out = activate(map, &Act::PRelu(vec![0.5, 0.25]));
        let expected: Vec<f32> = values
            .iter()
            .enumerate()
            .map(|(i, &v)| if v > 0.0 { v } else { v * [0.5, 0.25][i % 2] })
            .collect();
        assert_eq!(out.to_interleaved(1.0), expected);
        // sigmoid(0) = 0.5: the border must still be left alone.
        let sig = activate(out, &Act::Sigmoid);
        assert!(
            sig.raw()[..sig.padded_width() * 2]
                .iter()
                .all(|v| *v == 0.0)
        );
    }
}
