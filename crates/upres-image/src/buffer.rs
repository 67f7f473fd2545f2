//! The in-memory image every upres stage works on.

use crate::error::{ImageError, Result};

/// Which channels an image has. Alpha, when present, is always the last channel.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Layout {
    Gray,
    GrayAlpha,
    Rgb,
    Rgba,
}

impl Layout {
    pub fn channels(self) -> usize {
        match self {
            Layout::Gray => 1,
            Layout::GrayAlpha => 2,
            Layout::Rgb => 3,
            Layout::Rgba => 4,
        }
    }

    pub fn has_alpha(self) -> bool {
        matches!(self, Layout::GrayAlpha | Layout::Rgba)
    }

    /// The channels that carry color (everything but alpha).
    pub fn color_channels(self) -> usize {
        self.channels() - usize::from(self.has_alpha())
    }

    pub fn is_gray(self) -> bool {
        matches!(self, Layout::Gray | Layout::GrayAlpha)
    }
}

/// The integer depth an image was decoded from and will be encoded to.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Depth {
    U8,
    U16,
}

impl Depth {
    /// The largest sample value: 255 or 65535.
    pub fn max_value(self) -> f32 {
        match self {
            Depth::U8 => 255.0,
            Depth::U16 => 65535.0,
        }
    }
}

/// An image as interleaved `f32` samples in the units of its [`Depth`] (0..=255 or 0..=65535).
///
/// Samples keep the integer scale of the source so that integer-exact algorithms (MATLAB's
/// `imresize` rounds uint8 after each pass) stay exact; they may hold fractions between
/// stages, and are rounded and clamped only when quantized or encoded.
#[derive(Clone, Debug, PartialEq)]
pub struct Image {
    width: usize,
    height: usize,
    layout: Layout,
    depth: Depth,
    data: Vec<f32>,
}

impl Image {
    /// Wraps interleaved samples; fails when the buffer length does not match the shape.
    pub fn new(
        width: usize,
        height: usize,
        layout: Layout,
        depth: Depth,
        data: Vec<f32>,
    ) -> Result<Self> {
        let expected = width
            .checked_mul(height)
            .and_then(|n| n.checked_mul(layout.channels()));
        if expected != Some(data.len()) {
            return Err(ImageError::InvalidArgument(format!(
                "buffer of {} samples does not hold a {width}x{height} {layout:?} image",
                data.len()
            )));
        }
        Ok(Self {
            width,
            height,
            layout,
            depth,
            data,
        })
    }

    /// An image with every sample zero.
    pub fn zeros(width: usize, height: usize, layout: Layout, depth: Depth) -> Self {
        Self {
            width,
            height,
            layout,
            depth,
            data: vec![0.0; width * height * layout.channels()],
        }
    }

    pub fn width(&self) -> usize {
        self.width
    }

    pub fn height(&self) -> usize {
        self.height
    }

    pub fn layout(&self) -> Layout {
        self.layout
    }

    pub fn depth(&self) -> Depth {
        self.depth
    }

    pub fn channels(&self) -> usize {
        self.layout.channels()
    }

    pub fn data(&self) -> &[f32] {
        &self.data
    }

    pub fn data_mut(&mut self) -> &mut [f32] {
        &mut self.data
    }

    pub fn into_data(self) -> Vec<f32> {
        self.data
    }

    /// The samples of pixel (x, y).
    pub fn pixel(&self, x: usize, y: usize) -> &[f32] {
        let c = self.channels();
        let start = (y * self.width + x) * c;
        &self.data[start..start + c]
    }

    /// Rounds every sample to the nearest integer of the depth and clamps it into range.
    pub fn quantize(&mut self) {
        let max = self.depth.max_value();
        for v in &mut self.data {
            *v = quantize_sample(*v, max);
        }
    }

    /// The top-left `width` x `height` region.
    pub fn crop(&self, x0: usize, y0: usize, width: usize, height: usize) -> Result<Self> {
        if x0 + width > self.width || y0 + height > self.height {
            return Err(ImageError::InvalidArgument(format!(
                "crop {width}x{height}+{x0}+{y0} exceeds a {}x{} image",
                self.width, self.height
            )));
        }
        let c = self.channels();
        let mut data = Vec::with_capacity(width * height * c);
        for y in y0..y0 + height {
            let start = (y * self.width + x0) * c;
            data.extend_from_slice(&self.data[start..start + width * c]);
        }
        Self::new(width, height, self.layout, self.depth, data)
    }

    /// Grown to `width` x `height` (at least its size) by repeating the last column and row.
    pub fn extend_edges(&self, width: usize, height: usize) -> Self {
        let c = self.channels();
        let mut data = Vec::with_capacity(width * height * c);
        for y in 0..height {
            let row = y.min(self.height - 1) * self.width;
            for x in 0..width {
                let p = (row + x.min(self.width - 1)) * c;
                data.extend_from_slice(&self.data[p..p + c]);
            }
        }
        Self {
            width,
            height,
            data,
            ..*self
        }
    }

    /// Crops to the largest size whose sides are multiples of `scale`, keeping the top-left
    /// corner (MATLAB's `modcrop`, as the SR benchmarks do before making LR images).
    pub fn crop_to_multiple(&self, scale: usize) -> Result<Self> {
        if scale == 0 {
            return Err(ImageError::InvalidArgument("scale must be positive".into()));
        }
        self.crop(
            0,
            0,
            self.width - self.width % scale,
            self.height - self.height % scale,
        )
    }

    /// Gray images become RGB by repeating the gray channel; alpha is kept.
    pub fn to_rgb(&self) -> Self {
        let layout = match self.layout {
            Layout::Gray => Layout::Rgb,
            Layout::GrayAlpha => Layout::Rgba,
            other => return self.with_layout_data(other, self.data.clone()),
        };
        let c = self.channels();
        let mut data = Vec::with_capacity(self.width * self.height * layout.channels());
        for px in self.data.chunks_exact(c) {
            data.extend_from_slice(&[px[0], px[0], px[0]]);
            if self.layout.has_alpha() {
                data.push(px[1]);
            }
        }
        self.with_layout_data(layout, data)
    }

    /// Splits off the alpha channel: (color image, alpha as a gray image).
    pub fn split_alpha(&self) -> (Self, Option<Self>) {
        let color_layout = match self.layout {
            Layout::GrayAlpha => Layout::Gray,
            Layout::Rgba => Layout::Rgb,
            _ => return (self.clone(), None),
        };
        let c = self.channels();
        let cc = color_layout.channels();
        let mut color = Vec::with_capacity(self.width * self.height * cc);
        let mut alpha = Vec::with_capacity(self.width * self.height);
        for px in self.data.chunks_exact(c) {
            color.extend_from_slice(&px[..cc]);
            alpha.push(px[cc]);
        }
        (
            self.with_layout_data(color_layout, color),
            Some(self.with_layout_data(Layout::Gray, alpha)),
        )
    }

    /// Joins a color image and a gray alpha image of the same size and depth.
    pub fn with_alpha(&self, alpha: &Image) -> Result<Self> {
        let layout = match self.layout {
            Layout::Gray => Layout::GrayAlpha,
            Layout::Rgb => Layout::Rgba,
            _ => {
                return Err(ImageError::InvalidArgument(
                    "image already has an alpha channel".into(),
                ));
            }
        };
        if alpha.layout != Layout::Gray || (alpha.width, alpha.height) != (self.width, self.height)
        {
            return Err(ImageError::InvalidArgument(format!(
                "alpha must be a {}x{} gray image, got {}x{} {:?}",
                self.width, self.height, alpha.width, alpha.height, alpha.layout
            )));
        }
        let scale = self.depth.max_value() / alpha.depth.max_value();
        let c = self.channels();
        let mut data = Vec::with_capacity(self.width * self.height * layout.channels());
        for (px, a) in self.data.chunks_exact(c).zip(&alpha.data) {
            data.extend_from_slice(px);
            data.push(a * scale);
        }
        Ok(self.with_layout_data(layout, data))
    }

    /// The same pixels at another depth, rescaled (255 maps to 65535 and back).
    pub fn to_depth(&self, depth: Depth) -> Self {
        let factor = depth.max_value() / self.depth.max_value();
        let mut out = self.clone();
        out.depth = depth;
        if factor != 1.0 {
            out.data.iter_mut().for_each(|v| *v *= factor);
        }
        out
    }

    fn with_layout_data(&self, layout: Layout, data: Vec<f32>) -> Self {
        Self {
            width: self.width,
            height: self.height,
            layout,
            depth: self.depth,
            data,
        }
    }
}

/// Rounds half away from zero, as MATLAB's conversion to integer classes does, then saturates.
pub(crate) fn quantize_sample(v: f32, max: f32) -> f32 {
    v.round().clamp(0.0, max)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ramp(w: usize, h: usize, layout: Layout) -> Image {
        let n = w * h * layout.channels();
        Image::new(w, h, layout, Depth::U8, (0..n).map(|v| v as f32).collect()).unwrap()
    }

    #[test]
    fn new_rejects_wrong_length() {
        assert!(Image::new(2, 2, Layout::Rgb, Depth::U8, vec![0.0; 11]).is_err());
    }

    #[test]
    fn crop_to_multiple_keeps_top_left() {
        let img = ramp(5, 7, Layout::Gray);
        let c = img.crop_to_multiple(3).unwrap();
        assert_eq!((c.width(), c.height()), (3, 6));
        assert_eq!(c.pixel(2, 5), img.pixel(2, 5));
    }

    #[test]
    fn alpha_split_and_join_round_trip() {
        let img = ramp(3, 2, Layout::Rgba);
        let (color, alpha) = img.split_alpha();
        let alpha = alpha.unwrap();
        assert_eq!(color.layout(), Layout::Rgb);
        assert_eq!(alpha.pixel(1, 1), &[img.pixel(1, 1)[3]]);
        assert_eq!(color.with_alpha(&alpha).unwrap(), img);
    }

    #[test]
    fn gray_to_rgb_repeats_channel() {
        let img = ramp(2, 1, Layout::GrayAlpha).to_rgb();
        assert_eq!(img.layout(), Layout::Rgba);
        assert_eq!(img.pixel(1, 0), &[2.0, 2.0, 2.0, 3.0]);
    }

    #[test]
    fn quantize_rounds_half_away_and_saturates() {
        let mut img =
            Image::new(4, 1, Layout::Gray, Depth::U8, vec![0.5, 254.5, 300.0, -3.0]).unwrap();
        img.quantize();
        assert_eq!(img.data(), &[1.0, 255.0, 255.0, 0.0]);
    }
}
