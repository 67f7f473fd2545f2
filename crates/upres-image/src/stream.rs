//! Images as streams of rows, so that an image larger than memory can flow from a decoder
//! through a model to an encoder one band at a time.

use crate::buffer::{Depth, Image, Layout};
use crate::error::{ImageError, Result};
use crate::io::{self, Format, Metadata, ReadOptions, WriteOptions};
use crate::tiff_strips::{self, TiffRows};
use std::fs::File;
use std::io::{BufReader, BufWriter, Read, Seek, Write};
use std::path::{Path, PathBuf};
use tempfile::TempPath;

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

    fn sample(layout: Layout, depth: Depth) -> Image {
        let (w, h) = (13, 9);
        let max = depth.max_value() as usize;
        let n = w * h * layout.channels();
        let data = (0..n).map(|i| ((i * 7919) % (max + 1)) as f32).collect();
        Image::new(w, h, layout, depth, data).unwrap()
    }

    fn copy_through_files(img: &Image, dir: &Path, ext: &str, meta: &Metadata) -> (Image, bool) {
        let input = dir.join(format!("in.{ext}"));
        let output = dir.join(format!("out.{ext}"));
        io::write(&input, img, meta, WriteOptions::default()).unwrap();
        let mut src = FileRows::open(&input, ReadOptions::default()).unwrap();
        assert_eq!(&src.metadata, meta);
        let streaming = src.is_streaming();
        let shape = SinkShape {
            width: src.width(),
            height: src.height(),
            layout: src.layout(),
            depth: src.depth(),
        };
        let mut sink =
            FileSink::create(&output, shape, &src.metadata, WriteOptions::default()).unwrap();
        loop {
            let rows = src.read_rows(4).unwrap();
            if rows.height() == 0 {
                break;
            }
            sink.write_rows(&rows).unwrap();
        }
        sink.finish().unwrap();
        let back = io::read(&output).unwrap();
        assert_eq!(&back.metadata, meta);
        (back.image, streaming)
    }

    #[test]
    fn png_streams_every_layout_and_depth_losslessly_with_metadata() {
        let dir = tempfile::tempdir().unwrap();
        let meta = Metadata {
            icc_profile: Some(b"not really a profile, but carried verbatim".to_vec()),
            ..Metadata::default()
        };
        for layout in [Layout::Gray, Layout::GrayAlpha, Layout::Rgb, Layout::Rgba] {
            for depth in [Depth::U8, Depth::U16] {
                let img = sample(layout, depth);
                let (back, streaming) = copy_through_files(&img, dir.path(), "png", &meta);
                assert!(streaming);
                assert_eq!(back, img, "{layout:?} {depth:?}");
            }
        }
    }

    /// Reads a file through [`FileRows`] in bands of `band` rows; also says whether it streamed.
    fn read_in_bands(path: &Path, band: usize) -> (Image, bool) {
        let mut src = FileRows::open(path, ReadOptions::default()).unwrap();
        let mut sink = ImageCollector::new(src.width(), src.layout(), src.depth());
        loop {
            let rows = src.read_rows(band).unwrap();
            if rows.height() == 0 {
                break;
            }
            assert!(rows.height() <= band);
            sink.write_rows(&rows).unwrap();
        }
        (sink.finish().unwrap(), src.is_streaming())
    }

    #[test]
    fn tiff_streams_every_layout_and_depth_losslessly_with_metadata() {
        let dir = tempfile::tempdir().unwrap();
        let meta = Metadata {
            icc_profile: Some(b"not really a profile, but carried verbatim".to_vec()),
            geo: Some(crate::geotiff::GeoTiff {
                pixel_scale: Some(vec![10.0, 10.0, 0.0]),
                tiepoints: vec![0.0, 0.0, 0.0, 500_000.0, 4_600_000.0, 0.0],
                key_directory: vec![1, 1, 0, 1, 3072, 0, 1, 32633],
                ascii_params: Some("WGS 84 / UTM zone 33N|".into()),
                nodata: Some("0".into()),
                ..Default::default()
            }),
            ..Metadata::default()
        };
        for layout in [Layout::Gray, Layout::GrayAlpha, Layout::Rgb, Layout::Rgba] {
            for depth in [Depth::U8, Depth::U16] {
                let img = sample(layout, depth);
                let (back, streaming) = copy_through_files(&img, dir.path(), "tif", &meta);
                let out = dir.path().join("out.tif");
                assert_eq!(
                    FileRows::open(&out, ReadOptions::default())
                        .unwrap()
                        .metadata,
                    meta
                );
                assert!(streaming, "{layout:?} {depth:?}");
                assert_eq!(back, img, "{layout:?} {depth:?}");
                // The streamed file is byte for byte the one a whole-image write makes.
                let whole = io::encode(&img, &meta, Format::Tiff, 95).unwrap();
                assert_eq!(std::fs::read(dir.path().join("out.tif")).unwrap(), whole);
                let input = dir.path().join("in.tif");
                let read_whole = io::read(&input).unwrap().image;
                assert_eq!(read_whole, img, "{layout:?} {depth:?}");
                // `image` decodes the file to the same samples (it refuses gray+alpha TIFFs).
                if layout != Layout::GrayAlpha {
                    let theirs = image::open(&input).unwrap();
                    let ours = io::sample_bytes(&img, u16::to_ne_bytes);
                    assert_eq!(theirs.as_bytes(), ours, "{layout:?} {depth:?}");
                    assert_eq!(
                        usize::from(theirs.color().channel_count()),
                        layout.channels()
                    );
                }
                for band in [1, 7, img.height()] {
                    let (banded, streaming) = read_in_bands(&input, band);
                    assert!(streaming);
                    assert_eq!(
                        banded, read_whole,
                        "{layout:?} {depth:?} in bands of {band}"
                    );
                }
            }
        }
    }

    #[test]
    fn multi_strip_tiffs_from_other_writers_stream() {
        use tiff::encoder::{Compression, Predictor, TiffEncoder, colortype};
        use tiff::tags::{ExtraSamples, Tag};
        let dir = tempfile::tempdir().unwrap();
        let (w, h) = (13u32, 10u32);
        let icc = b"icc from elsewhere".as_slice();
        let n = (w * h) as usize;

        // 16-bit RGB, LZW with a predictor, 3 rows a strip: the last strip holds one row.
        let rgb: Vec<u16> = (0..n * 3).map(|i| (i * 7919 % 65536) as u16).collect();
        let rgb_path = dir.path().join("rgb.tif");
        let file = BufWriter::new(File::create(&rgb_path).unwrap());
        let mut out = TiffEncoder::new(file)
            .unwrap()
            .with_compression(Compression::Lzw)
            .with_predictor(Predictor::Horizontal);
        let mut strips = out.new_image::<colortype::RGB16>(w, h).unwrap();
        strips.rows_per_strip(3).unwrap();
        strips.encoder().write_tag(Tag::IccProfile, icc).unwrap();
        strips.write_data(&rgb).unwrap();
        drop(out);

        // 8-bit gray with an alpha extra sample, 4 rows a strip, uncompressed.
        let gray_alpha: Vec<u8> = (0..n * 2).map(|i| (i * 37 % 256) as u8).collect();
        let ga_path = dir.path().join("gray_alpha.tif");
        let file = BufWriter::new(File::create(&ga_path).unwrap());
        let mut out = TiffEncoder::new(file).unwrap();
        let mut strips = out.new_image::<colortype::Gray8>(w, h).unwrap();
        strips
            .extra_samples(&[ExtraSamples::UnassociatedAlpha])
            .unwrap();
        strips.rows_per_strip(4).unwrap();
        strips.write_data(&gray_alpha).unwrap();
        drop(out);

        let to_f32 = |v: &[u16]| v.iter().map(|&s| f32::from(s)).collect::<Vec<_>>();
        let expected_rgb = Image::new(13, 10, Layout::Rgb, Depth::U16, to_f32(&rgb)).unwrap();
        let ga_samples = gray_alpha.iter().map(|&s| u16::from(s)).collect::<Vec<_>>();
        let expected_ga =
            Image::new(13, 10, Layout::GrayAlpha, Depth::U8, to_f32(&ga_samples)).unwrap();
        // `image` decodes the RGB file to the same samples.
        let theirs = image::open(&rgb_path).unwrap().into_rgb16().into_raw();
        assert_eq!(theirs, rgb);
        for (path, expected) in [(&rgb_path, &expected_rgb), (&ga_path, &expected_ga)] {
            for band in [1, 7, 10] {
                let (banded, streaming) = read_in_bands(path, band);
                assert!(streaming);
                assert_eq!(&banded, expected, "{} in bands of {band}", path.display());
            }
        }
        let src = FileRows::open(&rgb_path, ReadOptions::default()).unwrap();
        assert_eq!(src.metadata.icc_profile.as_deref(), Some(icc));
        assert_eq!(io::read(&rgb_path).unwrap().metadata, src.metadata);

        let limit = ReadOptions {
            max_pixels: Some(129),
        };
        let err = FileRows::open(&rgb_path, limit).err().unwrap().to_string();
        assert!(
            err.contains(": 13x10 is more than the allowed 129"),
            "{err}"
        );
    }

    #[test]
    fn wide_tiffs_are_written_in_several_strips() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("wide.tif");
        // 70000 bytes a row: 14 rows fill a strip, so 40 rows take three strips.
        let (w, h) = (70_000, 40);
        let data = (0..w * h).map(|i| ((i * 31) % 256) as f32).collect();
        let img = Image::new(w, h, Layout::Gray, Depth::U8, data).unwrap();
        let shape = SinkShape {
            width: w,
            height: h,
            layout: Layout::Gray,
            depth: Depth::U8,
        };
        let mut sink =
            FileSink::create(&path, shape, &Metadata::default(), WriteOptions::default()).unwrap();
        let mut src = ImageRows::new(&img);
        loop {
            let rows = src.read_rows(5).unwrap();
            if rows.height() == 0 {
                break;
            }
            sink.write_rows(&rows).unwrap();
        }
        sink.finish().unwrap();
        let mut decoder = tiff::decoder::Decoder::new(File::open(&path).unwrap()).unwrap();
        assert_eq!(decoder.strip_count().unwrap(), 3);
        for band in [9, 40] {
            let (banded, streaming) = read_in_bands(&path, band);
            assert!(streaming);
            assert_eq!(banded, img, "bands of {band}");
        }
        let theirs = image::open(&path).unwrap().into_luma8().into_raw();
        assert!(
            theirs
                .iter()
                .zip(img.data())
                .all(|(&a, &b)| f32::from(a) == b)
        );
    }

    #[test]
    fn rotated_tiffs_are_decoded_whole_and_turned_upright() {
        use tiff::encoder::{TiffEncoder, colortype};
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("rotated.tif");
        let (w, h) = (4u32, 3u32);
        let pixels: Vec<u8> = (0..w * h * 3).map(|i| (i * 11 % 256) as u8).collect();
        let mut out = TiffEncoder::new(BufWriter::new(File::create(&path).unwrap())).unwrap();
        let mut strips = out.new_image::<colortype::RGB8>(w, h).unwrap();
        // Orientation 3: stored upside down (turned 180 degrees).
        strips
            .encoder()
            .write_tag(tiff::tags::Tag::Orientation, 3u16)
            .unwrap();
        strips.write_data(&pixels).unwrap();
        drop(out);
        let upright: Vec<f32> = pixels
            .chunks_exact(3)
            .rev()
            .flatten()
            .map(|&s| f32::from(s))
            .collect();
        let (read, streaming) = read_in_bands(&path, 2);
        assert!(!streaming);
        assert_eq!(read.data(), upright.as_slice());
    }

    #[test]
    fn other_formats_fall_back_to_whole_images() {
        let dir = tempfile::tempdir().unwrap();
        let img = sample(Layout::Rgb, Depth::U8);
        let (back, streaming) = copy_through_files(&img, dir.path(), "bmp", &Metadata::default());
        assert!(!streaming);
        assert_eq!(back, img);
    }

    #[test]
    fn unfinished_sink_leaves_no_file() {
        for ext in ["png", "tif"] {
            let dir = tempfile::tempdir().unwrap();
            let out = dir.path().join(format!("never.{ext}"));
            let shape = SinkShape {
                width: 4,
                height: 4,
                layout: Layout::Rgb,
                depth: Depth::U8,
            };
            let create =
                || FileSink::create(&out, shape, &Metadata::default(), WriteOptions::default());
            let mut sink = create().unwrap();
            sink.write_rows(&Image::zeros(4, 2, Layout::Rgb, Depth::U8))
                .unwrap();
            drop(sink);
            assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0, "{ext}");
            // Finishing with rows missing is an error, and also leaves nothing.
            let mut sink = create().unwrap();
            sink.write_rows(&Image::zeros(4, 2, Layout::Rgb, Depth::U8))
                .unwrap();
            assert!(sink.finish().is_err());
            assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0, "{ext}");
            // Rows of the wrong width are refused rather than misread later, and not counted.
            let mut sink = create().unwrap();
            let wrong = Image::zeros(3, 2, Layout::Rgb, Depth::U8);
            assert!(sink.write_rows(&wrong).is_err(), "{ext}");
            sink.write_rows(&Image::zeros(4, 2, Layout::Rgb, Depth::U8))
                .unwrap();
            assert!(sink.finish().is_err(), "{ext}");
            assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0, "{ext}");
        }
    }
}

/// An image file opened for reading as rows: PNG streams row by row and TIFF strip by strip;
/// other formats (and PNGs or TIFFs that cannot stream, see [`TiffRows::open`]) are decoded
/// whole.
pub struct FileRows {
    inner: FileRowsInner,
    pub metadata: Metadata,
    pub format: Format,
}

enum FileRowsInner {
    Png(Box<PngRows>),
    Tiff(Box<TiffRows<BufReader<File>>>),
    Whole { image: Image, next: usize },
}

impl FileRows {
    pub fn open(path: &Path, options: ReadOptions) -> Result<Self> {
        if let Some(png) = PngRows::open(path, options)? {
            let metadata = png.metadata.clone();
            return Ok(Self {
                inner: FileRowsInner::Png(Box::new(png)),
                metadata,
                format: Format::Png,
            });
        }
        if let Some(tiff) = open_tiff(path, options)? {
            let metadata = tiff.metadata.clone();
            return Ok(Self {
                inner: FileRowsInner::Tiff(Box::new(tiff)),
                metadata,
                format: Format::Tiff,
            });
        }
        let decoded = io::read_with(path, options)?;
        Ok(Self {
            inner: FileRowsInner::Whole {
                image: decoded.image,
                next: 0,
            },
            metadata: decoded.metadata,
            format: decoded.format,
        })
    }

    /// Whether rows are decoded on demand (true) or the image was decoded whole.
    pub fn is_streaming(&self) -> bool {
        !matches!(self.inner, FileRowsInner::Whole { .. })
    }
}

impl RowSource for FileRows {
    fn width(&self) -> usize {
        match &self.inner {
            FileRowsInner::Png(p) => p.width,
            FileRowsInner::Tiff(t) => t.width,
            FileRowsInner::Whole { image, .. } => image.width(),
        }
    }

    fn height(&self) -> usize {
        match &self.inner {
            FileRowsInner::Png(p) => p.height,
            FileRowsInner::Tiff(t) => t.height,
            FileRowsInner::Whole { image, .. } => image.height(),
        }
    }

    fn layout(&self) -> Layout {
        match &self.inner {
            FileRowsInner::Png(p) => p.layout,
            FileRowsInner::Tiff(t) => t.layout,
            FileRowsInner::Whole { image, .. } => image.layout(),
        }
    }

    fn depth(&self) -> Depth {
        match &self.inner {
            FileRowsInner::Png(p) => p.depth,
            FileRowsInner::Tiff(t) => t.depth,
            FileRowsInner::Whole { image, .. } => image.depth(),
        }
    }

    fn read_rows(&mut self, count: usize) -> Result<Image> {
        match &mut self.inner {
            FileRowsInner::Png(p) => p.read_rows(count),
            FileRowsInner::Tiff(t) => t.read_rows(count),
            FileRowsInner::Whole { image, next } => {
                let count = count.min(image.height() - *next);
                let rows = image.crop(0, *next, image.width(), count)?;
                *next += count;
                Ok(rows)
            }
        }
    }
}

/// A TIFF that can stream (`None` for any other file, which the caller decodes whole).
fn open_tiff(path: &Path, options: ReadOptions) -> Result<Option<TiffRows<BufReader<File>>>> {
    let file = File::open(path).map_err(|e| ImageError::io(path, e))?;
    let mut reader = BufReader::new(file);
    let mut signature = [0u8; 4];
    // Little- or big-endian, classic TIFF or BigTIFF.
    let is_tiff = reader.read_exact(&mut signature).is_ok()
        && matches!(&signature, b"II*\0" | b"MM\0*" | b"II+\0" | b"MM\0+");
    if !is_tiff {
        return Ok(None);
    }
    reader.rewind().map_err(|e| ImageError::io(path, e))?;
    TiffRows::open(reader, path, options)
}

/// A non-interlaced PNG decoded row by row.
struct PngRows {
    path: PathBuf,
    reader: png::Reader<BufReader<File>>,
    width: usize,
    height: usize,
    layout: Layout,
    depth: Depth,
    metadata: Metadata,
}

impl PngRows {
    /// `None` when the file is not a PNG that can stream (so the caller decodes it whole).
    fn open(path: &Path, options: ReadOptions) -> Result<Option<Self>> {
        let file = File::open(path).map_err(|e| ImageError::io(path, e))?;
        let mut reader = BufReader::new(file);
        let mut signature = [0u8; 8];
        let is_png =
            reader.read_exact(&mut signature).is_ok() && signature == *b"\x89PNG\r\n\x1a\n";
        if !is_png {
            return Ok(None);
        }
        reader.rewind().map_err(|e| ImageError::io(path, e))?;
        let mut decoder = png::Decoder::new(reader);
        // Palette to RGB(A), tRNS to alpha, low bit depths to 8; 16 bits stay 16.
        decoder.set_transformations(png::Transformations::EXPAND);
        let decode_err = |e: png::DecodingError| ImageError::Decode {
            path: path.to_path_buf(),
            reason: e.to_string(),
        };
        let reader = decoder.read_info().map_err(decode_err)?;
        let info = reader.info();
        let exif = info.exif_metadata.as_ref().map(|e| e.to_vec());
        let rotated = exif
            .as_deref()
            .and_then(image::metadata::Orientation::from_exif_chunk)
            .is_some_and(|o| o != image::metadata::Orientation::NoTransforms);
        if info.interlaced || rotated || info.is_animated() {
            return Ok(None);
        }
        io::check_pixel_limit(path, info.width, info.height, options)?;
        let (width, height) = (info.width as usize, info.height as usize);
        let metadata = Metadata {
            icc_profile: info.icc_profile.as_ref().map(|p| p.to_vec()),
            exif,
            ..Metadata::default()
        };
        let (color, bits) = reader.output_color_type();
        let layout = match color {
            png::ColorType::Grayscale => Layout::Gray,
            png::ColorType::GrayscaleAlpha => Layout::GrayAlpha,
            png::ColorType::Rgb => Layout::Rgb,
            png::ColorType::Rgba => Layout::Rgba,
            png::ColorType::Indexed => return Ok(None),
        };
        let depth = match bits {
            png::BitDepth::Sixteen => Depth::U16,
            _ => Depth::U8,
        };
        Ok(Some(Self {
            path: path.to_path_buf(),
            reader,
            width,
            height,
            layout,
            depth,
            metadata,
        }))
    }

    fn read_rows(&mut self, count: usize) -> Result<Image> {
        let samples = self.width * self.layout.channels();
        let mut data = Vec::with_capacity(count * samples);
        let mut rows = 0;
        while rows < count {
            let row = self.reader.next_row().map_err(|e| ImageError::Decode {
                path: self.path.clone(),
                reason: e.to_string(),
            })?;
            let Some(row) = row else { break };
            let bytes = row.data();
            match self.depth {
                Depth::U8 => data.extend(bytes.iter().map(|&b| f32::from(b))),
                Depth::U16 => data.extend(
                    bytes
                        .chunks_exact(2)
                        .map(|b| f32::from(u16::from_be_bytes([b[0], b[1]]))),
                ),
            }
            rows += 1;
        }
        Image::new(self.width, rows, self.layout, self.depth, data)
    }
}

/// Where upscaled rows go: a PNG or TIFF written row by row, or (other formats) an image
/// collected in memory and encoded at the end. Either way the file appears only on
/// [`FileSink::finish`], renamed from a temporary, so a failed or interrupted run leaves no
/// partial output.
pub struct FileSink {
    path: PathBuf,
    inner: FileSinkInner,
    expected_rows: usize,
    written_rows: usize,
    overwrite: bool,
}

enum FileSinkInner {
    /// Rows appended to a temporary file as they arrive.
    Streamed {
        writer: StreamedWriter,
        /// Deletes the temporary file if the sink is dropped unfinished.
        temp: TempPath,
        width: usize,
        layout: Layout,
        depth: Depth,
    },
    Memory {
        collector: ImageCollector,
        /// Boxed: GeoTIFF tags make it several times larger than the streamed variant.
        metadata: Box<Metadata>,
        format: Format,
        jpeg_quality: u8,
    },
}

/// The encoder a streamed file's rows go through.
enum StreamedWriter {
    Png(Box<png::StreamWriter<'static, BufWriter<File>>>),
    /// The directory was written first; rows are appended as the file's pixels.
    Tiff(BufWriter<File>),
}

impl RowSink for FileSink {
    fn write_rows(&mut self, rows: &Image) -> Result<()> {
        match &mut self.inner {
            FileSinkInner::Memory { collector, .. } => collector.write_rows(rows),
            FileSinkInner::Streamed {
                writer,
                width,
                layout,
                depth,
                ..
            } => append_rows(writer, &self.path, rows, (*width, *layout, *depth)),
        }?;
        // Only rows that went out count, so that refused rows leave `finish` short.
        self.written_rows += rows.height();
        Ok(())
    }
}

/// Appends rows to a streamed PNG (big-endian samples) or TIFF (little-endian) of
/// `(width, layout, depth)`, refusing rows that do not fit: their bytes would be misread.
fn append_rows(
    writer: &mut StreamedWriter,
    path: &Path,
    rows: &Image,
    (width, layout, depth): (usize, Layout, Depth),
) -> Result<()> {
    let format = match writer {
        StreamedWriter::Png(_) => Format::Png,
        StreamedWriter::Tiff(_) => Format::Tiff,
    };
    if (rows.width(), rows.layout()) != (width, layout) {
        return Err(ImageError::InvalidArgument(format!(
            "rows of {} {:?} pixels written to a {width} {layout:?} {}",
            rows.width(),
            rows.layout(),
            format.extension()
        )));
    }
    let rows = rows.to_depth(depth);
    let written = match writer {
        StreamedWriter::Png(w) => w.write_all(&io::sample_bytes(&rows, u16::to_be_bytes)),
        StreamedWriter::Tiff(w) => w.write_all(&io::sample_bytes(&rows, u16::to_le_bytes)),
    };
    written.map_err(|e| ImageError::io(path, e))
}

fn too_large(path: &Path) -> ImageError {
    ImageError::Unsupported {
        path: path.to_path_buf(),
        reason: "image too large for PNG".into(),
    }
}

/// The shape of the image a sink receives.
#[derive(Clone, Copy, Debug)]
pub struct SinkShape {
    pub width: usize,
    pub height: usize,
    pub layout: Layout,
    pub depth: Depth,
}

impl FileSink {
    pub fn create(
        path: &Path,
        shape: SinkShape,
        metadata: &Metadata,
        options: WriteOptions,
    ) -> Result<Self> {
        let format = match options.format {
            Some(f) => f,
            None => Format::from_path(path)?,
        };
        let inner = match format {
            Format::Png => Self::png(path, shape, metadata)?,
            Format::Tiff => Self::tiff(path, shape, metadata)?,
            _ => FileSinkInner::Memory {
                collector: ImageCollector::new(shape.width, shape.layout, shape.depth),
                metadata: Box::new(metadata.clone()),
                format,
                jpeg_quality: options.jpeg_quality,
            },
        };
        Ok(Self {
            path: path.to_path_buf(),
            inner,
            expected_rows: shape.height,
            written_rows: 0,
            overwrite: options.overwrite,
        })
    }

    fn png(path: &Path, shape: SinkShape, metadata: &Metadata) -> Result<FileSinkInner> {
        let enc_err = |e: png::EncodingError| ImageError::Encode {
            path: path.to_path_buf(),
            reason: e.to_string(),
        };
        let (file, temp) = io::temp_file_beside(path)?.into_parts();
        let (w, h) = (
            u32::try_from(shape.width).map_err(|_| too_large(path))?,
            u32::try_from(shape.height).map_err(|_| too_large(path))?,
        );
        let mut info = png::Info::with_size(w, h);
        info.color_type = match shape.layout {
            Layout::Gray => png::ColorType::Grayscale,
            Layout::GrayAlpha => png::ColorType::GrayscaleAlpha,
            Layout::Rgb => png::ColorType::Rgb,
            Layout::Rgba => png::ColorType::Rgba,
        };
        info.bit_depth = match shape.depth {
            Depth::U8 => png::BitDepth::Eight,
            Depth::U16 => png::BitDepth::Sixteen,
        };
        info.icc_profile = metadata.icc_profile.clone().map(Into::into);
        info.exif_metadata = metadata.exif.clone().map(Into::into);
        let encoder = png::Encoder::with_info(BufWriter::new(file), info).map_err(enc_err)?;
        let writer = encoder.write_header().map_err(enc_err)?;
        let writer = writer.into_stream_writer().map_err(enc_err)?;
        Ok(FileSinkInner::Streamed {
            writer: StreamedWriter::Png(Box::new(writer)),
            temp,
            width: shape.width,
            layout: shape.layout,
            depth: shape.depth,
        })
    }

    fn tiff(path: &Path, shape: SinkShape, metadata: &Metadata) -> Result<FileSinkInner> {
        let header = tiff_strips::header(
            shape.width,
            shape.height,
            shape.layout,
            shape.depth,
            metadata,
        )
        .map_err(|reason| ImageError::Encode {
            path: path.to_path_buf(),
            reason,
        })?;
        let (file, temp) = io::temp_file_beside(path)?.into_parts();
        let mut writer = BufWriter::new(file);
        writer
            .write_all(&header)
            .map_err(|e| ImageError::io(path, e))?;
        Ok(FileSinkInner::Streamed {
            writer: StreamedWriter::Tiff(writer),
            temp,
            width: shape.width,
            layout: shape.layout,
            depth: shape.depth,
        })
    }

    /// Completes the file and moves it into place.
    pub fn finish(self) -> Result<()> {
        if self.written_rows != self.expected_rows {
            return Err(ImageError::InvalidArgument(format!(
                "{}: {} of {} rows were produced",
                self.path.display(),
                self.written_rows,
                self.expected_rows
            )));
        }
        let options = WriteOptions {
            format: None,
            jpeg_quality: 95,
            overwrite: self.overwrite,
        };
        match self.inner {
            FileSinkInner::Streamed { writer, temp, .. } => {
                match writer {
                    StreamedWriter::Png(writer) => {
                        writer.finish().map_err(|e| ImageError::Encode {
                            path: self.path.clone(),
                            reason: e.to_string(),
                        })?
                    }
                    StreamedWriter::Tiff(writer) => {
                        let io_err = |e| ImageError::io(&self.path, e);
                        let file = writer.into_inner().map_err(|e| io_err(e.into_error()))?;
                        file.sync_all().map_err(io_err)?;
                        // Closed here, before it is renamed into place.
                    }
                }
                io::persist(temp, &self.path, self.overwrite)
            }
            FileSinkInner::Memory {
                collector,
                metadata,
                format,
                jpeg_quality,
            } => io::write(
                &self.path,
                &collector.finish()?,
                &metadata,
                WriteOptions {
                    format: Some(format),
                    jpeg_quality,
                    ..options
                },
            ),
        }
    }
}
