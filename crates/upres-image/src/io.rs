//! Reading and writing image files without losing what users care about: bit depth, alpha,
//! palette transparency, the ICC profile and EXIF (with the orientation applied on read).

use crate::buffer::{Depth, Image, Layout};
use crate::error::{ImageError, Result};
use crate::geotiff::GeoTiff;
use crate::tiff_strips::{self, TiffRows};
use image::{
    DynamicImage, ImageBuffer, ImageDecoder, ImageEncoder, ImageReader, Limits, Pixel,
    metadata::Orientation,
};
use std::io::{BufRead, BufReader, Cursor, Seek, Write};
use std::path::{Path, PathBuf};

/// The file formats upres reads and writes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Format {
    Png,
    Jpeg,
    WebP,
    Tiff,
    Bmp,
    /// Read only (medical images); see [`crate::dicom`].
    Dicom,
}

impl Format {
    /// The format named by a path's extension.
    pub fn from_path(path: &Path) -> Result<Self> {
        let ext = path
            .extension()
            .and_then(|e| e.to_str())
            .map(str::to_ascii_lowercase)
            .unwrap_or_default();
        ext.parse().map_err(|_| ImageError::Unsupported {
            path: path.to_path_buf(),
            reason: format!(
                "no image format for extension '{ext}' (use png, jpg, webp, tif or bmp)"
            ),
        })
    }

    pub fn extension(self) -> &'static str {
        match self {
            Format::Png => "png",
            Format::Jpeg => "jpg",
            Format::WebP => "webp",
            Format::Tiff => "tif",
            Format::Bmp => "bmp",
            Format::Dicom => "dcm",
        }
    }

    /// The media type HTTP names it by.
    pub fn mime_type(self) -> &'static str {
        match self {
            Format::Png => "image/png",
            Format::Jpeg => "image/jpeg",
            Format::WebP => "image/webp",
            Format::Tiff => "image/tiff",
            Format::Bmp => "image/bmp",
            Format::Dicom => "application/dicom",
        }
    }

    fn from_image_format(format: image::ImageFormat) -> Option<Self> {
        Some(match format {
            image::ImageFormat::Png => Format::Png,
            image::ImageFormat::Jpeg => Format::Jpeg,
            image::ImageFormat::WebP => Format::WebP,
            image::ImageFormat::Tiff => Format::Tiff,
            image::ImageFormat::Bmp => Format::Bmp,
            _ => return None,
        })
    }

    /// Whether the format stores 16-bit samples; the others get 8-bit output.
    pub fn supports_16_bit(self) -> bool {
        matches!(self, Format::Png | Format::Tiff)
    }

    /// Whether the encoder stores this channel layout (JPEG has no alpha).
    pub fn supports_layout(self, layout: Layout) -> bool {
        match self {
            Format::Jpeg => !layout.has_alpha(),
            Format::Dicom => false,
            _ => true,
        }
    }
}

impl std::str::FromStr for Format {
    type Err = ImageError;

    fn from_str(s: &str) -> Result<Self> {
        match s.to_ascii_lowercase().as_str() {
            "png" => Ok(Format::Png),
            "jpg" | "jpeg" => Ok(Format::Jpeg),
            "webp" => Ok(Format::WebP),
            "tif" | "tiff" => Ok(Format::Tiff),
            "bmp" => Ok(Format::Bmp),
            "dcm" | "dicom" => Ok(Format::Dicom),
            other => Err(ImageError::InvalidArgument(format!(
                "unknown image format '{other}' (expected png, jpg, webp, tif or bmp)"
            ))),
        }
    }
}

/// Whether `path` has the extension of a format upres reads (png, jpg/jpeg, webp, tif/tiff,
/// bmp; any case).
pub fn is_image_path(path: &Path) -> bool {
    path.extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| e.parse::<Format>().is_ok())
}

/// A folder that could not be listed.
#[derive(Debug, thiserror::Error)]
#[error("{}: cannot list: {source}", path.display())]
pub struct ListError {
    pub path: PathBuf,
    #[source]
    pub source: std::io::Error,
}

/// Every image file under `dir` (by [`is_image_path`]), recursively, sorted so that the order
/// is the same on every machine.
pub fn list_images(dir: &Path) -> std::result::Result<Vec<PathBuf>, ListError> {
    fn walk(dir: &Path, files: &mut Vec<PathBuf>) -> std::result::Result<(), ListError> {
        let list_err = |source| ListError {
            path: dir.to_path_buf(),
            source,
        };
        for entry in std::fs::read_dir(dir).map_err(list_err)? {
            let path = entry.map_err(list_err)?.path();
            if path.is_dir() {
                walk(&path, files)?;
            } else if is_image_path(&path) {
                files.push(path);
            }
        }
        Ok(())
    }
    let mut files = Vec::new();
    walk(dir, &mut files)?;
    files.sort();
    Ok(files)
}

/// Metadata carried from input to output.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Metadata {
    /// The embedded ICC color profile, verbatim.
    pub icc_profile: Option<Vec<u8>>,
    /// The raw EXIF block (TIFF structure), with its orientation reset to "upright" once the
    /// orientation has been applied to the pixels.
    pub exif: Option<Vec<u8>>,
    /// A GeoTIFF's georeferencing (written only to TIFF outputs).
    pub geo: Option<GeoTiff>,
    /// What the channels are: colour (and alpha), colour and a data band, or bands.
    pub bands: Bands,
}

/// What an image's channels hold.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Bands {
    /// Gray or RGB, with alpha last when there are two or four channels.
    #[default]
    Color,
    /// Gray or RGB and, last, a data band (near-infrared, say: TIFF's "unspecified" extra
    /// sample), not alpha. It is upscaled like alpha, band-wise, and TIFF outputs keep it a
    /// data band.
    ColorAndData,
    /// Two to four bands without a colour model (TIFF MinIsBlack with extra samples, as GDAL
    /// writes a band stack). Each is upscaled on its own, as gray; only TIFF outputs keep
    /// them.
    Stack,
}

impl Metadata {
    /// The metadata of the image resampled by `factor`: the georeferencing follows the
    /// pixels; the rest is the same.
    pub fn resized(&self, factor: f64) -> Self {
        Self {
            geo: self.geo.as_ref().map(|g| g.resized(factor)),
            ..self.clone()
        }
    }
}

/// A decoded file: its pixels (already upright), metadata and format.
#[derive(Clone, Debug)]
pub struct Decoded {
    pub image: Image,
    pub metadata: Metadata,
    pub format: Format,
}

/// Limits checked from the header, before any pixel is decoded.
#[derive(Clone, Copy, Debug, Default)]
pub struct ReadOptions {
    /// Refuse images with more pixels than this (a guard against decompression bombs).
    pub max_pixels: Option<u64>,
}

/// Reads an image file; errors name the file.
pub fn read(path: &Path) -> Result<Decoded> {
    read_with(path, ReadOptions::default())
}

pub fn read_with(path: &Path, options: ReadOptions) -> Result<Decoded> {
    let file = std::fs::File::open(path).map_err(|e| ImageError::io(path, e))?;
    decode_from(BufReader::new(file), path, options)
}

/// Decodes an in-memory file; `name` is used in error messages.
pub fn decode(bytes: &[u8], name: &Path, options: ReadOptions) -> Result<Decoded> {
    decode_from(Cursor::new(bytes), name, options)
}

fn decode_from(
    mut reader: impl BufRead + Seek,
    path: &Path,
    options: ReadOptions,
) -> Result<Decoded> {
    let codec_err = |e| ImageError::from_codec(path, e, false);
    // `image` does not recognise BigTIFF, which upres writes for TIFFs past 4 GiB.
    let start = reader.fill_buf().map_err(|e| ImageError::io(path, e))?;
    if crate::dicom::is_dicom(start) {
        let mut bytes = Vec::new();
        reader
            .read_to_end(&mut bytes)
            .map_err(|e| ImageError::io(path, e))?;
        return Ok(Decoded {
            image: crate::dicom::decode(&bytes, path, options)?,
            metadata: Metadata::default(),
            format: Format::Dicom,
        });
    }
    let big_tiff = start.starts_with(b"II+\0") || start.starts_with(b"MM\0+");
    let mut reader = ImageReader::new(reader)
        .with_guessed_format()
        .map_err(|e| ImageError::io(path, e))?;
    if big_tiff {
        reader.set_format(image::ImageFormat::Tiff);
    }
    let format = reader
        .format()
        .and_then(Format::from_image_format)
        .ok_or_else(|| ImageError::Unsupported {
            path: path.to_path_buf(),
            reason: "not a PNG, JPEG, WebP, TIFF or BMP file".into(),
        })?;
    if format == Format::Jpeg {
        // The JPEG decoder fills a truncated scan with gray instead of failing; refuse it.
        let mut bytes = Vec::new();
        let mut inner = reader.into_inner();
        inner.rewind().map_err(|e| ImageError::io(path, e))?;
        inner
            .read_to_end(&mut bytes)
            .map_err(|e| ImageError::io(path, e))?;
        if !jpeg_is_complete(&bytes) {
            return Err(ImageError::Decode {
                path: path.to_path_buf(),
                reason: "truncated JPEG (no end-of-image marker after the last scan)".into(),
            });
        }
        inner.rewind().map_err(|e| ImageError::io(path, e))?;
        reader = ImageReader::with_format(inner, image::ImageFormat::Jpeg);
    }
    let mut geo = None;
    // Bands beyond the colour ones that the whole-image decoder may drop without a word.
    let mut extra_bands = 0;
    if format == Format::Tiff {
        // The strip reader that streams TIFFs decodes them whole too, so that both paths agree
        // (and gray+alpha, which `image` refuses, reads); it leaves the rest to `image`.
        let mut inner = reader.into_inner();
        inner.rewind().map_err(|e| ImageError::io(path, e))?;
        if let Some(mut rows) = TiffRows::open(&mut inner, path, options)? {
            let image = rows.read_rows(rows.height)?;
            return Ok(Decoded {
                image,
                metadata: rows.metadata,
                format,
            });
        }
        inner.rewind().map_err(|e| ImageError::io(path, e))?;
        if let Ok(mut decoder) = tiff::decoder::Decoder::new(&mut inner) {
            if let Ok(tiff::ColorType::Multiband { num_samples, .. }) = decoder.colortype()
                && num_samples > 2
            {
                return Err(ImageError::Unsupported {
                    path: path.to_path_buf(),
                    reason: format!(
                        "{num_samples} bands without a colour model, tiled or of more than 4 \
                         bands: upres reads band stacks of up to 4 bands, 8 or 16 bits, in \
                         strips (`gdal_translate -co TILED=NO -b 1 -b 2 -b 3 -b 4` makes one)"
                    ),
                });
            }
            geo = GeoTiff::read(&mut decoder);
            extra_bands = decoder
                .find_tag_unsigned_vec::<u16>(tiff::tags::Tag::ExtraSamples)
                .ok()
                .flatten()
                .map_or(0, |extra| extra.len());
        }
        inner.rewind().map_err(|e| ImageError::io(path, e))?;
        reader = ImageReader::with_format(inner, image::ImageFormat::Tiff);
    }
    // upres streams large images itself; the crate's default 512 MiB cap would refuse a
    // 12000x9000 16-bit RGBA scan. The caller's pixel limit applies instead.
    reader.limits(Limits::no_limits());
    let mut decoder = reader.into_decoder().map_err(codec_err)?;
    let (w, h) = decoder.dimensions();
    check_pixel_limit(path, w, h, options)?;
    let icc_profile = decoder.icc_profile().map_err(codec_err)?;
    let mut exif = decoder.exif_metadata().map_err(codec_err)?;
    let orientation = decoder.orientation().map_err(codec_err)?;
    let mut dynamic = DynamicImage::from_decoder(decoder).map_err(codec_err)?;
    if orientation != Orientation::NoTransforms {
        dynamic.apply_orientation(orientation);
    }
    if let Some(chunk) = exif.as_mut() {
        let _previous = Orientation::remove_from_exif_chunk(chunk);
    }
    let image = from_dynamic(dynamic);
    if extra_bands > 1 || (extra_bands == 1 && !image.layout().has_alpha()) {
        return Err(ImageError::Unsupported {
            path: path.to_path_buf(),
            reason: format!(
                "{extra_bands} band(s) beyond the colour ones that are not alpha (near-infrared, \
                 say); upres reads such a band only beside one gray band, and would drop it here"
            ),
        });
    }
    Ok(Decoded {
        image,
        metadata: Metadata {
            icc_profile,
            exif,
            geo,
            bands: Bands::Color,
        },
        format,
    })
}

/// Refuses a `width` x `height` image over the caller's pixel limit, before it is decoded.
pub(crate) fn check_pixel_limit(path: &Path, w: u32, h: u32, options: ReadOptions) -> Result<()> {
    match options.max_pixels {
        Some(max) if u64::from(w) * u64::from(h) > max => Err(ImageError::TooManyPixels {
            path: path.to_path_buf(),
            width: w,
            height: h,
            max,
        }),
        _ => Ok(()),
    }
}

/// Walks a JPEG's marker segments and entropy-coded scans and says whether it reaches the
/// end-of-image marker. An EOI inside an embedded thumbnail does not count: segments are
/// skipped by their length, and scan data only ends at a real marker.
fn jpeg_is_complete(bytes: &[u8]) -> bool {
    let mut i = 2; // after SOI
    while i + 1 < bytes.len() {
        if bytes[i] != 0xFF {
            return false;
        }
        let marker = bytes[i + 1];
        match marker {
            0xD9 => return true,
            0xFF => i += 1, // fill byte
            0x01 | 0xD0..=0xD7 => i += 2,
            _ => {
                let Some(len) = bytes.get(i + 2..i + 4) else {
                    return false;
                };
                i += 2 + usize::from(u16::from_be_bytes([len[0], len[1]]));
                if marker == 0xDA {
                    // Entropy-coded data: runs to the next marker that is not a stuffed
                    // zero or a restart marker.
                    while i + 1 < bytes.len()
                        && (bytes[i] != 0xFF || matches!(bytes[i + 1], 0x00 | 0xD0..=0xD7))
                    {
                        i += 1;
                    }
                }
            }
        }
    }
    false
}

fn from_dynamic(dynamic: DynamicImage) -> Image {
    fn wrap<P: Pixel>(buf: ImageBuffer<P, Vec<P::Subpixel>>, layout: Layout, depth: Depth) -> Image
    where
        P::Subpixel: Into<f32>,
    {
        let (w, h) = buf.dimensions();
        let data = buf.into_raw().into_iter().map(Into::into).collect();
        // The buffer's length always matches its dimensions and layout.
        Image::new(w as usize, h as usize, layout, depth, data).expect("shape of a decoded buffer")
    }
    match dynamic {
        DynamicImage::ImageLuma8(b) => wrap(b, Layout::Gray, Depth::U8),
        DynamicImage::ImageLumaA8(b) => wrap(b, Layout::GrayAlpha, Depth::U8),
        DynamicImage::ImageRgb8(b) => wrap(b, Layout::Rgb, Depth::U8),
        DynamicImage::ImageRgba8(b) => wrap(b, Layout::Rgba, Depth::U8),
        DynamicImage::ImageLuma16(b) => wrap(b, Layout::Gray, Depth::U16),
        DynamicImage::ImageLumaA16(b) => wrap(b, Layout::GrayAlpha, Depth::U16),
        DynamicImage::ImageRgb16(b) => wrap(b, Layout::Rgb, Depth::U16),
        DynamicImage::ImageRgba16(b) => wrap(b, Layout::Rgba, Depth::U16),
        // Float sources (none of the enabled codecs produce them today) become 16-bit.
        other if other.color().has_alpha() => wrap(other.to_rgba16(), Layout::Rgba, Depth::U16),
        other => wrap(other.to_rgb16(), Layout::Rgb, Depth::U16),
    }
}

/// How to write a file.
#[derive(Clone, Copy, Debug)]
pub struct WriteOptions {
    /// The format; `None` takes it from the path's extension.
    pub format: Option<Format>,
    /// JPEG quality, 1..=100.
    pub jpeg_quality: u8,
    /// Replace an existing file; without it an existing output is an error.
    pub overwrite: bool,
}

impl Default for WriteOptions {
    fn default() -> Self {
        Self {
            format: None,
            jpeg_quality: 95,
            overwrite: true,
        }
    }
}

/// Writes `image` to `path` atomically: the file is encoded under a temporary name in the same
/// folder and renamed into place, so an interrupted or failed write never leaves a truncated file.
pub fn write(path: &Path, image: &Image, metadata: &Metadata, options: WriteOptions) -> Result<()> {
    let format = match options.format {
        Some(f) => f,
        None => Format::from_path(path)?,
    };
    let bytes = encode(image, metadata, format, options.jpeg_quality).map_err(|reason| {
        ImageError::Encode {
            path: path.to_path_buf(),
            reason,
        }
    })?;
    write_bytes(path, &bytes, options.overwrite)
}

/// Writes a finished file's bytes to `path` atomically (under a temporary name in the same
/// folder, then renamed); without `overwrite` an existing file is an error.
pub fn write_bytes(path: &Path, bytes: &[u8], overwrite: bool) -> Result<()> {
    let mut tmp = temp_file_beside(path)?;
    let io_err = |e| ImageError::io(path, e);
    tmp.write_all(bytes).map_err(io_err)?;
    tmp.as_file().sync_all().map_err(io_err)?;
    persist(tmp.into_temp_path(), path, overwrite)
}

/// A temporary file in `path`'s folder, so that the final rename stays on one file system.
pub(crate) fn temp_file_beside(path: &Path) -> Result<tempfile::NamedTempFile> {
    let dir = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    let mut builder = tempfile::Builder::new();
    builder.prefix(".upres-").suffix(".tmp");
    // Temporary files are private by default; the output they become should not be.
    #[cfg(unix)]
    builder.permissions(std::os::unix::fs::PermissionsExt::from_mode(0o644));
    builder
        .tempfile_in(dir)
        .map_err(|e| ImageError::io(path, e))
}

/// Moves a finished temporary file to `path`; without `overwrite` an existing file is kept.
pub(crate) fn persist(temp: tempfile::TempPath, path: &Path, overwrite: bool) -> Result<()> {
    let io_err = |e| ImageError::io(path, e);
    if overwrite {
        temp.persist(path).map_err(|e| io_err(e.error))
    } else {
        temp.persist_noclobber(path).map_err(|e| {
            if e.error.kind() == std::io::ErrorKind::AlreadyExists {
                ImageError::InvalidArgument(format!(
                    "{}: already exists (pass --overwrite to replace it)",
                    path.display()
                ))
            } else {
                io_err(e.error)
            }
        })
    }
}

/// Encodes to an in-memory file. The error is the reason alone; [`write`] adds the path.
pub fn encode(
    image: &Image,
    metadata: &Metadata,
    format: Format,
    jpeg_quality: u8,
) -> std::result::Result<Vec<u8>, String> {
    if !format.supports_layout(image.layout()) {
        return Err(format!(
            "{} cannot store a {:?} image; write png",
            format.extension(),
            image.layout()
        ));
    }
    let image = if format.supports_16_bit() {
        image.clone()
    } else {
        image.to_depth(Depth::U8)
    };
    let color = match (image.layout(), image.depth()) {
        (Layout::Gray, Depth::U8) => image::ExtendedColorType::L8,
        (Layout::GrayAlpha, Depth::U8) => image::ExtendedColorType::La8,
        (Layout::Rgb, Depth::U8) => image::ExtendedColorType::Rgb8,
        (Layout::Rgba, Depth::U8) => image::ExtendedColorType::Rgba8,
        (Layout::Gray, Depth::U16) => image::ExtendedColorType::L16,
        (Layout::GrayAlpha, Depth::U16) => image::ExtendedColorType::La16,
        (Layout::Rgb, Depth::U16) => image::ExtendedColorType::Rgb16,
        (Layout::Rgba, Depth::U16) => image::ExtendedColorType::Rgba16,
    };
    let mut out = Vec::new();
    let result = match format {
        Format::Png => finish(
            image::codecs::png::PngEncoder::new(&mut out),
            metadata,
            &image,
            color,
        ),
        Format::Jpeg => finish(
            image::codecs::jpeg::JpegEncoder::new_with_quality(
                &mut out,
                jpeg_quality.clamp(1, 100),
            ),
            metadata,
            &image,
            color,
        ),
        Format::WebP => finish(
            image::codecs::webp::WebPEncoder::new_lossless(&mut out),
            metadata,
            &image,
            color,
        ),
        // Written as streamed TIFFs are, so that both carry the same tags.
        Format::Tiff => return tiff_strips::encode(&image, metadata),
        Format::Dicom => return Err("upres reads DICOM but writes png or tif".into()),
        Format::Bmp => finish(
            image::codecs::bmp::BmpEncoder::new(&mut out),
            metadata,
            &image,
            color,
        ),
    };
    result.map_err(|e| e.to_string())?;
    Ok(out)
}

fn finish(
    mut encoder: impl ImageEncoder,
    metadata: &Metadata,
    image: &Image,
    color: image::ExtendedColorType,
) -> image::ImageResult<()> {
    // A format that cannot embed a profile or EXIF refuses it; the pixels are still right.
    if let Some(icc) = &metadata.icc_profile {
        let _ = encoder.set_icc_profile(icc.clone());
    }
    if let Some(exif) = &metadata.exif {
        let _ = encoder.set_exif_metadata(exif.clone());
    }
    let raw = sample_bytes(image, u16::to_ne_bytes);
    let (width, height) = (image.width() as u32, image.height() as u32);
    encoder.write_image(&raw, width, height, color)
}

/// Samples rounded to the image's depth, as bytes; `u16_bytes` orders 16-bit ones as the
/// encoder wants them (native for `image`'s encoders, big-endian for PNG, little for TIFF).
pub fn sample_bytes(image: &Image, u16_bytes: fn(u16) -> [u8; 2]) -> Vec<u8> {
    let max = image.depth().max_value();
    let q = |v: f32| v.round().clamp(0.0, max);
    match image.depth() {
        Depth::U8 => image.data().iter().map(|&v| q(v) as u8).collect(),
        Depth::U16 => image
            .data()
            .iter()
            .flat_map(|&v| u16_bytes(q(v) as u16))
            .collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample(layout: Layout, depth: Depth) -> Image {
        let (w, h) = (7, 5);
        let max = depth.max_value();
        let n = w * h * layout.channels();
        let data = (0..n).map(|i| ((i * 7919) as f32) % (max + 1.0)).collect();
        Image::new(w, h, layout, depth, data).unwrap()
    }

    #[test]
    fn lossless_formats_round_trip_every_layout_and_depth() {
        for format in [Format::Png, Format::Tiff] {
            for layout in [Layout::Gray, Layout::GrayAlpha, Layout::Rgb, Layout::Rgba] {
                if !format.supports_layout(layout) {
                    continue;
                }
                for depth in [Depth::U8, Depth::U16] {
                    let img = sample(layout, depth);
                    let bytes = encode(&img, &Metadata::default(), format, 95).unwrap();
                    let back = decode(&bytes, Path::new("t"), ReadOptions::default()).unwrap();
                    assert_eq!(back.format, format);
                    assert_eq!(back.image, img, "{format:?} {layout:?} {depth:?}");
                }
            }
        }
    }

    #[test]
    fn eight_bit_only_formats_keep_8_bit_pixels() {
        for format in [Format::WebP, Format::Bmp] {
            let img = sample(Layout::Rgba, Depth::U8);
            let bytes = encode(&img, &Metadata::default(), format, 95).unwrap();
            let back = decode(&bytes, Path::new("t"), ReadOptions::default()).unwrap();
            assert_eq!(back.image, img, "{format:?}");
        }
    }

    #[test]
    fn jpeg_refuses_alpha_instead_of_dropping_it() {
        let err = encode(
            &sample(Layout::Rgba, Depth::U8),
            &Metadata::default(),
            Format::Jpeg,
            90,
        );
        assert!(err.unwrap_err().contains("cannot store a Rgba image"));
    }

    #[test]
    fn pixel_limit_is_checked_before_decoding() {
        let img = sample(Layout::Rgb, Depth::U8);
        let bytes = encode(&img, &Metadata::default(), Format::Png, 95).unwrap();
        let opts = ReadOptions {
            max_pixels: Some(34),
        };
        let err = decode(&bytes, Path::new("bomb.png"), opts).unwrap_err();
        assert!(matches!(err, ImageError::TooManyPixels { max: 34, .. }));
        assert_eq!(
            err.to_string(),
            "bomb.png: 7x5 is more than the allowed 34 pixels"
        );
    }

    #[test]
    fn garbage_is_a_one_line_error_naming_the_file() {
        let err = decode(b"not an image", Path::new("x.png"), ReadOptions::default()).unwrap_err();
        let msg = err.to_string();
        assert!(msg.starts_with("x.png: "), "{msg}");
        assert!(!msg.contains('\n'));
    }

    #[test]
    fn truncated_png_is_an_error() {
        let img = sample(Layout::Rgb, Depth::U8);
        let bytes = encode(&img, &Metadata::default(), Format::Png, 95).unwrap();
        let cut = &bytes[..bytes.len() / 2];
        assert!(decode(cut, Path::new("cut.png"), ReadOptions::default()).is_err());
    }

    #[test]
    fn truncated_jpeg_is_an_error() {
        let img = sample(Layout::Rgb, Depth::U8);
        let bytes = encode(&img, &Metadata::default(), Format::Jpeg, 90).unwrap();
        assert!(decode(&bytes, Path::new("whole.jpg"), ReadOptions::default()).is_ok());
        for cut in [bytes.len() - 2, bytes.len() / 2, 30] {
            let err = decode(&bytes[..cut], Path::new("cut.jpg"), ReadOptions::default());
            assert!(err.is_err(), "cut at {cut}");
        }
    }

    #[cfg(unix)]
    #[test]
    fn written_files_are_readable_by_others() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("out.png");
        let img = sample(Layout::Rgb, Depth::U8);
        write(&path, &img, &Metadata::default(), WriteOptions::default()).unwrap();
        let mode = std::fs::metadata(&path).unwrap().permissions().mode();
        assert_eq!(mode & 0o044, 0o044, "mode {mode:o}");
    }

    #[test]
    fn format_from_extension() {
        assert_eq!(
            Format::from_path(Path::new("a/B.JPEG")).unwrap(),
            Format::Jpeg
        );
        assert!(Format::from_path(Path::new("a/b.gif")).is_err());
    }
}
