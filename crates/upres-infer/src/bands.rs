//! Band stacks (remote-sensing bands without a colour model) through a method made for gray
//! or colour images: each band on its own, as a gray image, so that no band mixes into
//! another through a colour transform.

use upres_image::{Image, Layout, UpscaleError, Upscaler};

/// `method` applied to every band of an image separately.
pub struct BandWise<'a>(pub &'a dyn Upscaler);

impl Upscaler for BandWise<'_> {
    fn name(&self) -> String {
        format!("{} (band-wise)", self.0.name())
    }

    fn upscale(&self, low_res: &Image, scale: usize) -> Result<Image, UpscaleError> {
        let c = low_res.channels();
        let mut bands = Vec::with_capacity(c);
        for band in 0..c {
            let gray = Image::new(
                low_res.width(),
                low_res.height(),
                Layout::Gray,
                low_res.depth(),
                low_res
                    .data()
                    .iter()
                    .skip(band)
                    .step_by(c)
                    .copied()
                    .collect(),
            )?;
            let up = self.0.upscale(&gray, scale)?;
            if up.channels() != 1 {
                return Err(format!(
                    "{} made {} channels of a gray band",
                    self.0.name(),
                    up.channels()
                )
                .into());
            }
            bands.push(up);
        }
        let (w, h) = (bands[0].width(), bands[0].height());
        let mut data = vec![0.0; w * h * c];
        for (band, up) in bands.iter().enumerate() {
            for (px, &v) in data.chunks_exact_mut(c).zip(up.data()) {
                px[band] = v;
            }
        }
        Ok(Image::new(w, h, low_res.layout(), low_res.depth(), data)?)
    }

    fn receptive_radius(&self) -> Option<usize> {
        self.0.receptive_radius()
    }

    fn tile_bytes(&self, side: usize, scale: usize) -> Option<u64> {
        // One band is in the network at a time.
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
    use upres_image::{Depth, Interpolation};

    #[test]
    fn each_band_is_upscaled_as_the_gray_image_it_is() {
        let (w, h) = (9, 7);
        let band = |k: usize| -> Vec<f32> {
            (0..w * h)
                .map(|i| ((i * k * 7919) % 65_536) as f32)
                .collect()
        };
        let bands: Vec<Vec<f32>> = (1..=4).map(band).collect();
        let data = (0..w * h)
            .flat_map(|p| bands.iter().map(move |b| b[p]))
            .collect();
        let stack = Image::new(w, h, Layout::Rgba, Depth::U16, data).unwrap();
        let bicubic = Interpolation(Filter::Bicubic);
        let up = BandWise(&bicubic).upscale(&stack, 2).unwrap();
        assert_eq!(
            (up.width(), up.height(), up.layout()),
            (2 * w, 2 * h, Layout::Rgba)
        );
        for (k, values) in bands.into_iter().enumerate() {
            let gray = Image::new(w, h, Layout::Gray, Depth::U16, values).unwrap();
            let alone = bicubic.upscale(&gray, 2).unwrap();
            let ours: Vec<f32> = up.data().iter().skip(k).step_by(4).copied().collect();
            assert_eq!(ours, alone.data(), "band {k}");
        }
    }
}
