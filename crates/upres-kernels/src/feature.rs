//! NHWC feature maps with a zero border.

use crate::pool::BufferPool;

/// Buffers of dropped feature maps, reused by the next ones.
static POOL: BufferPool<f32> = BufferPool::new(256 << 20);

/// A buffer of `len` values, recycled from the pool when one is large enough (holding stale
/// values then), else freshly zeroed.
fn buffer(len: usize) -> Vec<f32> {
    match POOL.take(len) {
        Some(mut buffer) => {
            buffer.resize(len, 0.0);
            buffer.truncate(len);
            buffer
        }
        None => vec![0.0; len],
    }
}

impl Drop for FeatureMap {
    fn drop(&mut self) {
        POOL.give(std::mem::take(&mut self.data));
    }
}

/// The border every operation leaves around its output: 2 lets a Winograd tile of an
/// odd-sized map read zeros past its edge and covers the padding of 3x3 and 5x5 kernels.
pub const BORDER: usize = 2;

/// Extra zeroed pixels after the last image, so that a micro-tile may read past the end of
/// the last row (its extra outputs are discarded) without a bounds check.
const SLACK_PIXELS: usize = 64;

/// `n` images of `h x w` pixels and `c` channels, stored NHWC with a border of `pad` zero
/// pixels on every side of each image. Only the interior holds values; every operation keeps
/// the border (and the slack after the last image) zero.
#[derive(Debug, Clone, PartialEq)]
pub struct FeatureMap {
    n: usize,
    h: usize,
    w: usize,
    c: usize,
    pad: usize,
    data: Vec<f32>,
}

impl FeatureMap {
    /// A map whose border and slack are zero and whose interior is unspecified: for
    /// producers that write every interior value (zeroing a recycled buffer first would cost
    /// a pass over memory per layer).
    pub(crate) fn for_overwrite(n: usize, h: usize, w: usize, c: usize, pad: usize) -> Self {
        let image = (h + 2 * pad) * (w + 2 * pad) * c;
        let mut map = Self {
            n,
            h,
            w,
            c,
            pad,
            data: buffer(n * image + SLACK_PIXELS * c),
        };
        map.clear_border();
        map
    }

    /// Zeroes the border of every image and the slack.
    fn clear_border(&mut self) {
        let row = self.padded_width() * self.c;
        let (edge, interior) = (self.pad * row, self.pad * self.c);
        let image = self.image_len();
        for img in 0..self.n {
            let data = &mut self.data[img * image..][..image];
            data[..edge].fill(0.0);
            data[image - edge..].fill(0.0);
            for r in self.pad..self.pad + self.h {
                let line = &mut data[r * row..][..row];
                line[..interior].fill(0.0);
                line[row - interior..].fill(0.0);
            }
        }
        let used = self.n * image;
        self.data[used..].fill(0.0);
    }

    /// From `n` interleaved (HWC) images, each value multiplied by `scale`.
    pub fn from_interleaved(
        n: usize,
        h: usize,
        w: usize,
        c: usize,
        values: &[f32],
        scale: f32,
        pad: usize,
    ) -> Self {
        assert_eq!(
            values.len(),
            n * h * w * c,
            "interleaved data of the wrong length"
        );
        let mut map = Self::for_overwrite(n, h, w, c, pad);
        for img in 0..n {
            for y in 0..h {
                let src = &values[(img * h + y) * w * c..][..w * c];
                for (d, s) in map.row_mut(img, y).iter_mut().zip(src) {
                    *d = s * scale;
                }
            }
        }
        map
    }

    /// From an NCHW tensor's values.
    pub fn from_nchw(n: usize, c: usize, h: usize, w: usize, values: &[f32], pad: usize) -> Self {
        assert_eq!(values.len(), n * c * h * w, "NCHW data of the wrong length");
        let mut map = Self::for_overwrite(n, h, w, c, pad);
        for img in 0..n {
            for y in 0..h {
                let row = map.row_mut(img, y);
                for x in 0..w {
                    for ch in 0..c {
                        row[x * c + ch] = values[((img * c + ch) * h + y) * w + x];
                    }
                }
            }
        }
        map
    }

    /// The interleaved (HWC) values of every image in order, each multiplied by `scale`.
    pub fn to_interleaved(&self, scale: f32) -> Vec<f32> {
        let mut out = Vec::with_capacity(self.n * self.h * self.w * self.c);
        for img in 0..self.n {
            for y in 0..self.h {
                out.extend(self.row(img, y).iter().map(|v| v * scale));
            }
        }
        out
    }

    /// The values in NCHW order.
    pub fn to_nchw(&self) -> Vec<f32> {
        let (n, c, h, w) = (self.n, self.c, self.h, self.w);
        let mut out = vec![0.0; n * c * h * w];
        for img in 0..n {
            for y in 0..h {
                let row = self.row(img, y);
                for x in 0..w {
                    for ch in 0..c {
                        out[((img * c + ch) * h + y) * w + x] = row[x * c + ch];
                    }
                }
            }
        }
        out
    }

    /// Images in the batch.
    pub fn batch(&self) -> usize {
        self.n
    }

    /// Height in pixels (without the border).
    pub fn height(&self) -> usize {
        self.h
    }

    /// Width in pixels (without the border).
    pub fn width(&self) -> usize {
        self.w
    }

    /// Channels per pixel.
    pub fn channels(&self) -> usize {
        self.c
    }

    /// Width of the zero border.
    pub fn pad(&self) -> usize {
        self.pad
    }

    /// `[n, c, h, w]`.
    pub fn dims(&self) -> [usize; 4] {
        [self.n, self.c, self.h, self.w]
    }

    /// Pixels per padded row.
    pub(crate) fn padded_width(&self) -> usize {
        self.w + 2 * self.pad
    }

    /// Values per padded image.
    pub(crate) fn image_len(&self) -> usize {
        (self.h + 2 * self.pad) * self.padded_width() * self.c
    }

    /// The whole buffer, border and slack included.
    pub(crate) fn raw(&self) -> &[f32] {
        &self.data
    }

    /// The whole buffer, border and slack included; writers must keep them zero.
    pub(crate) fn raw_mut(&mut self) -> &mut [f32] {
        &mut self.data
    }

    /// The padded image `img`, border included.
    pub(crate) fn image_mut(&mut self, img: usize) -> &mut [f32] {
        let len = self.image_len();
        &mut self.data[img * len..][..len]
    }

    fn row_start(&self, img: usize, y: usize) -> usize {
        img * self.image_len() + ((y + self.pad) * self.padded_width() + self.pad) * self.c
    }

    /// Padded row `r` (0 is the top border's first row) of image `img`: `(w + 2 pad) * c`
    /// values, the border included.
    pub(crate) fn padded_row(&self, img: usize, r: usize) -> &[f32] {
        let len = self.padded_width() * self.c;
        &self.data[img * self.image_len() + r * len..][..len]
    }

    /// The `w * c` values of row `y` of image `img`.
    pub fn row(&self, img: usize, y: usize) -> &[f32] {
        let start = self.row_start(img, y);
        &self.data[start..start + self.w * self.c]
    }

    /// The `w * c` values of row `y` of image `img`, mutably.
    pub fn row_mut(&mut self, img: usize, y: usize) -> &mut [f32] {
        let start = self.row_start(img, y);
        let len = self.w * self.c;
        &mut self.data[start..start + len]
    }

    /// Applies `f` to every interior row (`w * c` values, channel fastest).
    pub(crate) fn for_each_row(&mut self, mut f: impl FnMut(&mut [f32])) {
        for img in 0..self.n {
            for y in 0..self.h {
                f(self.row_mut(img, y));
            }
        }
    }

    /// The same values with a border of `pad` pixels (a copy only when it differs).
    pub fn with_pad(self, pad: usize) -> Self {
        if pad == self.pad {
            return self;
        }
        let mut out = Self::for_overwrite(self.n, self.h, self.w, self.c, pad);
        for img in 0..self.n {
            for y in 0..self.h {
                out.row_mut(img, y).copy_from_slice(self.row(img, y));
            }
        }
        out
    }
}
