//! Images as streams of rows, so that an image larger than memory can flow from a decoder
//! through a model to an encoder one band at a time.

use crate::buffer::{Depth, Image, Layout};
use crate::error::{ImageError, Result};

/// Rows of an image, top to bottom.
pub trait RowSource {
    fn width(&self) -> usize;
    fn height(&self) -> usize;
    fn layout(&self) -> Layout;
    fn depth(&self) -> Depth;
    /// The next `count` rows (fewer only at the end) as an image of that height.
    fn read_rows(&mut self, count: usize) -> Result<Image>;
}

/// Receives rows of an image, top to bottom.
pub trait RowSink {
    fn write_rows(&mut self, rows: &Image) -> Result<()>;
}

/// A whole in-memory image read as rows.
pub struct ImageRows<'a> {
    image: &'a Image,
    next: usize,
}

impl<'a> ImageRows<'a> {
    pub fn new(image: &'a Image) -> Self {
        Self { image, next: 0 }
    }
}

impl RowSource for ImageRows<'_> {
    fn width(&self) -> usize {
        self.image.width()
    }

    fn height(&self) -> usize {
        self.image.height()
    }

    fn layout(&self) -> Layout {
        self.image.layout()
    }

    fn depth(&self) -> Depth {
        self.image.depth()
    }

    fn read_rows(&mut self, count: usize) -> Result<Image> {
        let count = count.min(self.image.height() - self.next);
        let rows = self.image.crop(0, self.next, self.image.width(), count)?;
        self.next += count;
        Ok(rows)
    }
}

/// Collects rows into a whole in-memory image.
pub struct ImageCollector {
    width: usize,
    layout: Layout,
    depth: Depth,
    data: Vec<f32>,
}

impl ImageCollector {
    pub fn new(width: usize, layout: Layout, depth: Depth) -> Self {
        Self {
            width,
            layout,
            depth,
            data: Vec::new(),
        }
    }

    pub fn finish(self) -> Result<Image> {
        let height = self.data.len() / (self.width * self.layout.channels()).max(1);
        Image::new(self.width, height, self.layout, self.depth, self.data)
    }
}

impl RowSink for ImageCollector {
    fn write_rows(&mut self, rows: &Image) -> Result<()> {
        if (rows.width(), rows.layout()) != (self.width, self.layout) {
            return Err(ImageError::InvalidArgument(format!(
                "rows of {} {:?} pixels written to a {} {:?} image",
                rows.width(),
                rows.layout(),
                self.width,
                self.layout
            )));
        }
        let rows = rows.to_depth(self.depth);
        self.data.extend_from_slice(rows.data());
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_flow_through_unchanged() {
        let data = (0..5 * 7 * 2).map(|v| v as f32).collect();
        let img = Image::new(5, 7, Layout::GrayAlpha, Depth::U16, data).unwrap();
        let mut src = ImageRows::new(&img);
        let mut sink = ImageCollector::new(5, Layout::GrayAlpha, Depth::U16);
        loop {
            let rows = src.read_rows(3).unwrap();
            if rows.height() == 0 {
                break;
            }
            sink.write_rows(&rows).unwrap();
        }
        assert_eq!(sink.finish().unwrap(), img);
    }
}
