//! ITU-R BT.601 YCbCr exactly as MATLAB's `rgb2ycbcr` / `ycbcr2rgb` define it
//! (studio swing: Y in [16, 235], Cb/Cr in [16, 240], on a 0..255 scale).

use crate::buffer::{Depth, Image, Layout};

/// Rows of MATLAB's `rgb2ycbcr` matrix, applied to RGB on a 0..255 scale and divided by 255.
const RGB_TO_YCBCR: [[f64; 3]; 3] = [
    [65.481, 128.553, 24.966],
    [-37.797, -74.203, 112.0],
    [112.0, -93.786, -18.214],
];
const OFFSET: [f64; 3] = [16.0, 128.0, 128.0];

/// Converts one RGB triple (0..255 scale) to YCbCr (0..255 scale), unrounded.
pub fn rgb_to_ycbcr(rgb: [f64; 3]) -> [f64; 3] {
    let mut out = OFFSET;
    for (o, row) in out.iter_mut().zip(RGB_TO_YCBCR) {
        *o += (row[0] * rgb[0] + row[1] * rgb[1] + row[2] * rgb[2]) / 255.0;
    }
    out
}

/// Converts one YCbCr triple (0..255 scale) back to RGB (0..255 scale), unrounded.
pub fn ycbcr_to_rgb(ycbcr: [f64; 3]) -> [f64; 3] {
    let inv = inverse(RGB_TO_YCBCR);
    let d = [
        ycbcr[0] - OFFSET[0],
        ycbcr[1] - OFFSET[1],
        ycbcr[2] - OFFSET[2],
    ];
    let mut out = [0.0; 3];
    for (o, row) in out.iter_mut().zip(inv) {
        *o = 255.0 * (row[0] * d[0] + row[1] * d[1] + row[2] * d[2]);
    }
    out
}

/// Whether Y is rounded to an integer, as MATLAB's `rgb2ycbcr` does for uint8 input.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LumaRounding {
    /// Round 8-bit images' Y to integers (MATLAB on uint8), keep others exact.
    Matlab,
    /// Never round (BasicSR's float `rgb2ycbcr`).
    Exact,
}

/// The BT.601 luma plane on a 0..255 scale, whatever the image's depth.
///
/// Gray images are treated as R = G = B; alpha is ignored.
pub fn luma(image: &Image, rounding: LumaRounding) -> Vec<f64> {
    let to_255 = 255.0 / f64::from(image.depth().max_value());
    let round = rounding == LumaRounding::Matlab && image.depth() == Depth::U8;
    let c = image.channels();
    image
        .data()
        .chunks_exact(c)
        .map(|px| {
            let rgb = if image.layout().is_gray() {
                [f64::from(px[0]); 3]
            } else {
                [f64::from(px[0]), f64::from(px[1]), f64::from(px[2])]
            };
            let y = rgb_to_ycbcr(rgb.map(|v| v * to_255))[0];
            if round { y.round() } else { y }
        })
        .collect()
}

/// Every channel on a 0..255 scale as f64 planes-in-pixel order (RGB mode of the metrics).
pub fn samples_255(image: &Image) -> Vec<f64> {
    let to_255 = 255.0 / f64::from(image.depth().max_value());
    image
        .data()
        .iter()
        .map(|&v| f64::from(v) * to_255)
        .collect()
}

/// An RGB(A) image converted to YCbCr(A) with the same depth scale, unrounded.
pub fn image_to_ycbcr(image: &Image) -> Image {
    map_color(image, rgb_to_ycbcr)
}

/// The inverse of [`image_to_ycbcr`].
pub fn image_from_ycbcr(image: &Image) -> Image {
    map_color(image, ycbcr_to_rgb)
}

fn map_color(image: &Image, f: fn([f64; 3]) -> [f64; 3]) -> Image {
    let image = image.to_rgb();
    let scale = f64::from(image.depth().max_value()) / 255.0;
    let mut out = image.clone();
    let c = out.channels();
    for px in out.data_mut().chunks_exact_mut(c) {
        let v = f([px[0], px[1], px[2]].map(|s| f64::from(s) / scale));
        for (dst, src) in px.iter_mut().zip(v) {
            *dst = (src * scale) as f32;
        }
    }
    debug_assert!(matches!(out.layout(), Layout::Rgb | Layout::Rgba));
    out
}

fn inverse(m: [[f64; 3]; 3]) -> [[f64; 3]; 3] {
    let det = m[0][0] * (m[1][1] * m[2][2] - m[1][2] * m[2][1])
        - m[0][1] * (m[1][0] * m[2][2] - m[1][2] * m[2][0])
        + m[0][2] * (m[1][0] * m[2][1] - m[1][1] * m[2][0]);
    let mut inv = [[0.0; 3]; 3];
    for (r, row) in inv.iter_mut().enumerate() {
        for (c, v) in row.iter_mut().enumerate() {
            // Cofactor of (c, r): the adjugate is the transposed cofactor matrix.
            let (r0, r1) = ((c + 1) % 3, (c + 2) % 3);
            let (c0, c1) = ((r + 1) % 3, (r + 2) % 3);
            *v = (m[r0][c0] * m[r1][c1] - m[r0][c1] * m[r1][c0]) / det;
        }
    }
    inv
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn studio_swing_extremes() {
        let black = rgb_to_ycbcr([0.0; 3]);
        let white = rgb_to_ycbcr([255.0; 3]);
        assert!((black[0] - 16.0).abs() < 1e-9 && (white[0] - 235.0).abs() < 1e-9);
        assert!((white[1] - 128.0).abs() < 1e-9 && (white[2] - 128.0).abs() < 1e-9);
        let blue = rgb_to_ycbcr([0.0, 0.0, 255.0]);
        assert!((blue[1] - 240.0).abs() < 1e-9);
    }

    #[test]
    fn primaries_match_bt601_studio_values() {
        // BT.601 studio-swing luma of the 100% primaries: R 81.481, G 144.553, B 40.966;
        // the chroma of pure red saturates Cr at 240.
        let r = rgb_to_ycbcr([255.0, 0.0, 0.0]);
        let g = rgb_to_ycbcr([0.0, 255.0, 0.0]);
        let b = rgb_to_ycbcr([0.0, 0.0, 255.0]);
        for (got, want) in [
            (r[0], 81.481),
            (g[0], 144.553),
            (b[0], 40.966),
            (r[2], 240.0),
        ] {
            assert!((got - want).abs() < 1e-9, "{got} != {want}");
        }
    }

    #[test]
    fn inverse_round_trips() {
        for rgb in [[0.0, 0.0, 0.0], [12.0, 200.0, 99.0], [255.0, 0.0, 128.0]] {
            let back = ycbcr_to_rgb(rgb_to_ycbcr(rgb));
            for (a, b) in rgb.iter().zip(back) {
                assert!((a - b).abs() < 1e-9);
            }
        }
    }
}
