//! Geometric self-ensemble (EDSR's "+" results): run the method on the eight flips and
//! rotations of the input, undo each transform on the output, and average.

use upres_image::{Image, UpscaleError, Upscaler};

/// One of the eight symmetries of the square: optional transpose, then optional flips.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Symmetry {
    transpose: bool,
    flip_x: bool,
    flip_y: bool,
}

impl Symmetry {
    fn all() -> impl Iterator<Item = Symmetry> {
        (0..8u8).map(|k| Symmetry {
            transpose: k & 4 != 0,
            flip_x: k & 1 != 0,
            flip_y: k & 2 != 0,
        })
    }

    /// Applies the symmetry: transpose first, then the flips.
    fn apply(self, img: &Image) -> Image {
        let (w, h) = (img.width(), img.height());
        let (ow, oh) = if self.transpose { (h, w) } else { (w, h) };
        let c = img.channels();
        let mut data = Vec::with_capacity(img.data().len());
        for y in 0..oh {
            for x in 0..ow {
                let (x1, y1) = (
                    if self.flip_x { ow - 1 - x } else { x },
                    if self.flip_y { oh - 1 - y } else { y },
                );
                let (sx, sy) = if self.transpose { (y1, x1) } else { (x1, y1) };
                data.extend_from_slice(&img.data()[(sy * w + sx) * c..(sy * w + sx + 1) * c]);
            }
        }
        Image::new(ow, oh, img.layout(), img.depth(), data).expect("a permutation keeps the size")
    }

    /// Undoes [`Symmetry::apply`]: flips first, then the transpose.
    fn invert(self, img: &Image) -> Image {
        let flipped = Symmetry {
            transpose: false,
            ..self
        }
        .apply(img);
        if self.transpose {
            Symmetry {
                transpose: true,
                flip_x: false,
                flip_y: false,
            }
            .apply(&flipped)
        } else {
            flipped
        }
    }
}

/// The mean of `method` over the eight symmetries of `input`.
pub fn self_ensemble(
    input: &Image,
    method: &dyn Fn(&Image) -> Result<Image, UpscaleError>,
) -> Result<Image, UpscaleError> {
    let mut sum: Option<Image> = None;
    for s in Symmetry::all() {
        let out = s.invert(&method(&s.apply(input))?);
        match sum.as_mut() {
            None => sum = Some(out),
            Some(acc) => {
                if (acc.width(), acc.height()) != (out.width(), out.height()) {
                    return Err("the method's output size depends on the input orientation".into());
                }
                acc.data_mut()
                    .iter_mut()
                    .zip(out.data())
                    .for_each(|(a, b)| *a += b);
            }
        }
    }
    let mut mean = sum.expect("eight symmetries");
    mean.data_mut().iter_mut().for_each(|v| *v /= 8.0);
    Ok(mean)
}

/// A method's self-ensemble as a method of its own, named with EDSR's "+" (`fsrcnn-y+`), for
/// evaluating the "+" figures papers report.
pub struct SelfEnsemble(pub Box<dyn Upscaler>);

impl Upscaler for SelfEnsemble {
    fn name(&self) -> String {
        format!("{}+", self.0.name())
    }

    fn upscale(&self, low_res: &Image, scale: usize) -> Result<Image, UpscaleError> {
        self_ensemble(low_res, &|input| self.0.upscale(input, scale))
    }

    fn receptive_radius(&self) -> Option<usize> {
        self.0.receptive_radius()
    }

    fn tile_bytes(&self, side: usize, scale: usize) -> Option<u64> {
        self.0.tile_bytes(side, scale)
    }

    fn fixed_scale(&self) -> Option<usize> {
        self.0.fixed_scale()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use upres_image::resize::Filter;
    use upres_image::{Depth, Interpolation, Layout};

    fn img(w: usize, h: usize) -> Image {
        let data = (0..w * h * 3).map(|v| v as f32).collect();
        Image::new(w, h, Layout::Rgb, Depth::U16, data).unwrap()
    }

    #[test]
    fn symmetries_are_distinct_and_invertible() {
        let x = img(5, 3);
        let mut seen = Vec::new();
        for s in Symmetry::all() {
            let y = s.apply(&x);
            assert_eq!(s.invert(&y), x, "{s:?}");
            assert!(!seen.contains(&y), "{s:?} repeats another symmetry");
            seen.push(y);
        }
    }

    #[test]
    fn equivariant_method_is_unchanged_and_others_are_averaged() {
        let x = img(4, 6);
        // Identity commutes with every symmetry: the ensemble returns it exactly.
        assert_eq!(self_ensemble(&x, &|i| Ok(i.clone())).unwrap(), x);
        // A method that adds the column index is not equivariant; its ensemble is the mean
        // of the column index over the symmetries: for a 4x6 image that is (4-1)/2 or (6-1)/2.
        let biased = |i: &Image| -> Result<Image, UpscaleError> {
            let mut o = i.clone();
            let (w, c) = (o.width(), o.channels());
            for (p, px) in o.data_mut().chunks_exact_mut(c).enumerate() {
                px.iter_mut().for_each(|v| *v += (p % w) as f32);
            }
            Ok(o)
        };
        let out = self_ensemble(&x, &biased).unwrap();
        let mean_offset = (4.0 * 1.5 + 4.0 * 2.5) / 8.0;
        for (a, b) in out.data().iter().zip(x.data()) {
            assert!((a - b - mean_offset).abs() < 1e-4);
        }
    }

    #[test]
    fn a_wrapped_method_keeps_its_scale_and_gains_a_plus() {
        // MATLAB bicubic is symmetric under every flip and transpose: its ensemble is itself.
        let bicubic = Interpolation(Filter::Bicubic);
        let plus = SelfEnsemble(Box::new(bicubic));
        assert_eq!(plus.name(), "bicubic+");
        assert_eq!(plus.receptive_radius(), bicubic.receptive_radius());
        let x = img(7, 5);
        let (one, eight) = (
            bicubic.upscale(&x, 3).unwrap(),
            plus.upscale(&x, 3).unwrap(),
        );
        assert_eq!((eight.width(), eight.height()), (21, 15));
        for (a, b) in eight.data().iter().zip(one.data()) {
            assert!((a - b).abs() < 1e-2, "{a} against {b}");
        }
    }
}
