//! TIFF strip by strip, so that a TIFF larger than memory streams like a PNG: reading decodes
//! one strip at a time through the `tiff` crate; writing lays out an uncompressed file whose
//! directory comes before the pixels, so that rows can be appended as they arrive.

use crate::buffer::{Depth, Image, Layout};
use crate::error::{ImageError, Result};
use crate::geotiff::GeoTiff;
use crate::io::{self, Bands, Metadata, ReadOptions};
use image::metadata::Orientation;
use std::io::{Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};
use tiff::ColorType;
use tiff::decoder::{ChunkType, Decoder, DecodingResult, Limits};
use tiff::tags::{
    CompressionMethod, ExtraSamples, PhotometricInterpretation, PlanarConfiguration,
    ResolutionUnit, SampleFormat, Tag, Type,
};

/// A strip-organised TIFF decoded one strip at a time; only the current strip is held.
pub(crate) struct TiffRows<R: Read + Seek> {
    path: PathBuf,
    decoder: Decoder<ExtraSampleAsAlpha<R>>,
    pub(crate) width: usize,
    pub(crate) height: usize,
    pub(crate) layout: Layout,
    pub(crate) depth: Depth,
    pub(crate) metadata: Metadata,
    strip: Strip,
    /// Rows in `strip`, and how many of them have been handed out.
    strip_rows: usize,
    strip_used: usize,
    next_strip: u32,
    /// Rows handed out so far.
    rows_read: usize,
}

/// The samples of one strip, row after row.
enum Strip {
    U8(Vec<u8>),
    U16(Vec<u16>),
}

impl<R: Read + Seek> TiffRows<R> {
    /// `None` for a TIFF left to the whole-image decoder: tiled or planar (one plane per channel)
    /// storage, samples other than 8- or 16-bit unsigned gray, gray+alpha, RGB or RGBA (palette,
    /// CMYK, YCbCr, WhiteIsZero, 1-bit, float), an orientation tag that turns the image (rows
    /// cannot be rotated as they stream), or a header this reader cannot parse (so that the error
    /// reads as it always has).
    pub(crate) fn open(mut reader: R, path: &Path, options: ReadOptions) -> Result<Option<Self>> {
        let patch = unspecified_extra_sample(&mut reader);
        let Ok(reader) = ExtraSampleAsAlpha::new(reader, patch) else {
            return Ok(None);
        };
        let Ok(decoder) = Decoder::new(reader) else {
            return Ok(None);
        };
        // The caller's pixel limit guards memory, as on the whole-image path.
        let mut decoder = decoder.with_limits(Limits::unlimited());
        let Some((layout, depth, bands)) = stream_shape(&mut decoder) else {
            return Ok(None);
        };
        // The band shown to the decoder as alpha is data.
        let bands = if patch.is_some() {
            Bands::ColorAndData
        } else {
            bands
        };
        let Ok((w, h)) = decoder.dimensions() else {
            return Ok(None);
        };
        if w == 0 || h == 0 {
            return Ok(None);
        }
        io::check_pixel_limit(path, w, h, options)?;
        let metadata = Metadata {
            // Read as `image`'s TIFF decoder reads it; it reads no EXIF from TIFF files.
            icc_profile: decoder.get_tag_u8_vec(Tag::IccProfile).ok(),
            exif: None,
            geo: GeoTiff::read(&mut decoder),
            bands,
        };
        Ok(Some(Self {
            path: path.to_path_buf(),
            decoder,
            width: w as usize,
            height: h as usize,
            layout,
            depth,
            metadata,
            strip: Strip::U8(Vec::new()),
            strip_rows: 0,
            strip_used: 0,
            next_strip: 0,
            rows_read: 0,
        }))
    }

    /// The next `count` rows (fewer only at the end), decoding strips as they are reached.
    pub(crate) fn read_rows(&mut self, count: usize) -> Result<Image> {
        let samples = self.width * self.layout.channels();
        let count = count.min(self.height - self.rows_read);
        let mut data = Vec::with_capacity(count * samples);
        let mut rows = 0;
        while rows < count {
            if self.strip_used == self.strip_rows {
                self.next_strip()?;
            }
            let take = (self.strip_rows - self.strip_used).min(count - rows);
            let range = self.strip_used * samples..(self.strip_used + take) * samples;
            match &self.strip {
                Strip::U8(v) => data.extend(v[range].iter().map(|&s| f32::from(s))),
                Strip::U16(v) => data.extend(v[range].iter().map(|&s| f32::from(s))),
            }
            self.strip_used += take;
            self.rows_read += take;
            rows += take;
        }
        Image::new(self.width, rows, self.layout, self.depth, data)
    }

    /// Decodes the next strip in place of the current one.
    fn next_strip(&mut self) -> Result<()> {
        let decode_err = |reason: String| ImageError::Decode {
            path: self.path.clone(),
            reason,
        };
        let chunk = self
            .decoder
            .read_chunk(self.next_strip)
            .map_err(|e| ImageError::from_tiff(&self.path, e))?;
        let (len, strip) = match (chunk, self.depth) {
            (DecodingResult::U8(v), Depth::U8) => (v.len(), Strip::U8(v)),
            (DecodingResult::U16(v), Depth::U16) => (v.len(), Strip::U16(v)),
            _ => {
                return Err(decode_err(format!(
                    "strip {} does not hold {:?} samples",
                    self.next_strip, self.depth
                )));
            }
        };
        let samples = self.width * self.layout.channels();
        let rows = len / samples;
        if rows == 0 || len % samples != 0 {
            return Err(decode_err(format!(
                "strip {} holds {len} samples, not whole rows of {samples}",
                self.next_strip
            )));
        }
        // A last strip may be padded past the image's height.
        self.strip_rows = rows.min(self.height - self.rows_read);
        self.strip_used = 0;
        self.strip = strip;
        self.next_strip += 1;
        Ok(())
    }
}

/// A TIFF reader that shows the decoder one byte pair of its own: RGB with a fourth sample
/// marked "unspecified" (near-infrared, say) is what the `tiff` crate reports as three samples
/// and then fails to decode; shown as unassociated alpha, it decodes as RGBA, and upres keeps
/// the band as data.
pub(crate) struct ExtraSampleAsAlpha<R> {
    inner: R,
    /// Where the replaced bytes lie in the file, and what is read there instead.
    patch: Option<(u64, [u8; 2])>,
    position: u64,
}

impl<R: Read + Seek> ExtraSampleAsAlpha<R> {
    fn new(mut inner: R, patch: Option<(u64, [u8; 2])>) -> std::io::Result<Self> {
        inner.rewind()?;
        Ok(Self {
            inner,
            patch,
            position: 0,
        })
    }
}

impl<R: Read> Read for ExtraSampleAsAlpha<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        if let Some((at, bytes)) = self.patch {
            for (offset, byte) in (at..).zip(bytes) {
                if let Some(i) = offset.checked_sub(self.position)
                    && i < n as u64
                {
                    buf[i as usize] = byte;
                }
            }
        }
        self.position += n as u64;
        Ok(n)
    }
}

impl<R: Seek> Seek for ExtraSampleAsAlpha<R> {
    fn seek(&mut self, to: SeekFrom) -> std::io::Result<u64> {
        self.position = self.inner.seek(to)?;
        Ok(self.position)
    }
}

/// For an RGB TIFF with one extra sample marked unspecified (in its first directory, whose
/// values are read here directly): where that `ExtraSamples` value lies, and the bytes that
/// say "unassociated alpha" in the file's byte order. `None` for anything else.
fn unspecified_extra_sample<R: Read + Seek>(reader: &mut R) -> Option<(u64, [u8; 2])> {
    const PHOTOMETRIC: u16 = 262;
    const SAMPLES_PER_PIXEL: u16 = 277;
    const EXTRA_SAMPLES: u16 = 338;
    const SHORT: u16 = 3;
    reader.rewind().ok()?;
    let mut header = [0u8; 16];
    reader.read_exact(&mut header[..8]).ok()?;
    let little = match &header[..2] {
        b"II" => true,
        b"MM" => false,
        _ => return None,
    };
    let uint = |bytes: &[u8]| -> u64 {
        let mut wide = [0u8; 8];
        if little {
            wide[..bytes.len()].copy_from_slice(bytes);
            u64::from_le_bytes(wide)
        } else {
            wide[8 - bytes.len()..].copy_from_slice(bytes);
            u64::from_be_bytes(wide)
        }
    };
    // Classic TIFF: 2-byte entry count, 12-byte entries with the value at byte 8; BigTIFF:
    // 8-byte count, 20-byte entries with the value at byte 12.
    let (directory, count_len, entry_len, value_at) = match uint(&header[2..4]) {
        42 => (uint(&header[4..8]), 2, 12, 8),
        43 => {
            reader.read_exact(&mut header[8..16]).ok()?;
            (uint(&header[8..16]), 8, 20, 12)
        }
        _ => return None,
    };
    reader.seek(SeekFrom::Start(directory)).ok()?;
    let mut count = [0u8; 8];
    reader.read_exact(&mut count[..count_len]).ok()?;
    let entries = usize::try_from(uint(&count[..count_len]))
        .ok()
        .filter(|&n| n <= 4096)?;
    let mut table = vec![0u8; entries * entry_len];
    reader.read_exact(&mut table).ok()?;
    let (mut rgb, mut samples, mut extra_at) = (false, 0, None);
    for (i, entry) in table.chunks_exact(entry_len).enumerate() {
        let one_short = uint(&entry[2..4]) == u64::from(SHORT) && uint(&entry[4..value_at]) == 1;
        if !one_short {
            continue;
        }
        let value = uint(&entry[value_at..value_at + 2]);
        match uint(&entry[..2]) as u16 {
            PHOTOMETRIC => rgb = value == u64::from(PhotometricInterpretation::RGB.to_u16()),
            SAMPLES_PER_PIXEL => samples = value,
            EXTRA_SAMPLES if value == u64::from(ExtraSamples::Unspecified.to_u16()) => {
                extra_at = Some(directory + (count_len + i * entry_len + value_at) as u64);
            }
            _ => {}
        }
    }
    let alpha = ExtraSamples::UnassociatedAlpha.to_u16();
    let bytes = if little {
        alpha.to_le_bytes()
    } else {
        alpha.to_be_bytes()
    };
    extra_at
        .filter(|_| rgb && samples == 4)
        .map(|at| (at, bytes))
}

/// The layout and depth of a TIFF that [`TiffRows`] streams, and whether its extra band is
/// data rather than alpha; `None` if it does not stream.
fn stream_shape<R: Read + Seek>(decoder: &mut Decoder<R>) -> Option<(Layout, Depth, Bands)> {
    if decoder.get_chunk_type() != ChunkType::Strip {
        return None;
    }
    let chunky = decoder
        .find_tag_unsigned::<u16>(Tag::PlanarConfiguration)
        .ok()?
        .is_none_or(|c| c == PlanarConfiguration::Chunky.to_u16());
    let unsigned = decoder
        .find_tag_unsigned_vec::<u16>(Tag::SampleFormat)
        .ok()?
        .is_none_or(|f| f.iter().all(|&f| f == SampleFormat::Uint.to_u16()));
    // The orientation as `image`'s TIFF decoder reads it, which the whole-image path applies.
    let orientation = decoder
        .find_tag(Tag::Orientation)
        .ok()?
        .and_then(|v| Orientation::from_exif(u8::try_from(v.into_u16().ok()?).unwrap_or(u8::MAX)))
        .unwrap_or(Orientation::NoTransforms);
    if !chunky || !unsigned || orientation != Orientation::NoTransforms {
        return None;
    }
    let photometric = PhotometricInterpretation::from_u16(
        decoder
            .find_tag_unsigned(Tag::PhotometricInterpretation)
            .ok()??,
    )?;
    let samples = decoder
        .find_tag_unsigned::<u16>(Tag::SamplesPerPixel)
        .ok()?
        .unwrap_or(1);
    let extra = decoder
        .find_tag_unsigned_vec::<u16>(Tag::ExtraSamples)
        .ok()?
        .unwrap_or_default();
    let alpha = extra
        .first()
        .copied()
        .and_then(ExtraSamples::from_u16)
        .is_some_and(|extra| extra != ExtraSamples::Unspecified);
    // One extra band that is not alpha: a data band such as near-infrared.
    let bands = if extra.len() == 1 && !alpha {
        Bands::ColorAndData
    } else {
        Bands::Color
    };
    use PhotometricInterpretation::{BlackIsZero, RGB};
    let (layout, bits, bands) = match (decoder.colortype().ok()?, photometric, samples) {
        (ColorType::Gray(bits), BlackIsZero, 1) => (Layout::Gray, bits, bands),
        // The `tiff` crate reports gray with an extra sample as two bands.
        (
            ColorType::Multiband {
                bit_depth,
                num_samples: 2,
            },
            BlackIsZero,
            2,
        ) if alpha || bands == Bands::ColorAndData => (Layout::GrayAlpha, bit_depth, bands),
        // Gray with two or three extra bands that are not alpha: a band stack.
        (
            ColorType::Multiband {
                bit_depth,
                num_samples: n @ 3..=4,
            },
            BlackIsZero,
            _,
        ) if !alpha => {
            let layout = if n == 3 { Layout::Rgb } else { Layout::Rgba };
            (layout, bit_depth, Bands::Stack)
        }
        (ColorType::RGB(bits), RGB, 3) => (Layout::Rgb, bits, bands),
        (ColorType::RGBA(bits), RGB, 4) => (Layout::Rgba, bits, bands),
        _ => return None,
    };
    match bits {
        8 => Some((layout, Depth::U8, bands)),
        16 => Some((layout, Depth::U16, bands)),
        _ => None,
    }
}

/// Rows per strip are chosen so that a strip holds about this many bytes: little for a reader to
/// hold, few enough strips that the offset tables stay short.
const STRIP_BYTES: u64 = 1 << 20;

/// A whole image as a TIFF file: the same bytes as its [`header`] followed by streamed rows.
pub(crate) fn encode(image: &Image, metadata: &Metadata) -> std::result::Result<Vec<u8>, String> {
    let mut out = header(
        image.width(),
        image.height(),
        image.layout(),
        image.depth(),
        metadata,
    )?;
    out.extend(io::sample_bytes(image, u16::to_le_bytes));
    Ok(out)
}

/// Everything of an uncompressed little-endian strip TIFF that comes before its pixels: header,
/// the one directory, and tag values (the ICC profile and GeoTIFF tags among them). The pixels follow as the
/// image's rows of samples in little-endian order, so a writer can stream them. The file is a
/// BigTIFF only when it would pass the 4 GiB that classic TIFF offsets reach.
pub(crate) fn header(
    width: usize,
    height: usize,
    layout: Layout,
    depth: Depth,
    metadata: &Metadata,
) -> std::result::Result<Vec<u8>, String> {
    let too_large = || format!("{width}x{height} is too large for TIFF");
    if width == 0 || height == 0 {
        return Err(format!("{width}x{height} image has no pixels"));
    }
    let w = u32::try_from(width).map_err(|_| too_large())?;
    let h = u32::try_from(height).map_err(|_| too_large())?;
    let shape = Shape {
        width: w,
        height: h,
        layout,
        depth,
    };
    let data_len = shape
        .row_bytes()
        .checked_mul(u64::from(h))
        .ok_or_else(too_large)?;
    match directory(false, shape, metadata) {
        Some(classic)
            if (classic.len() as u64)
                .checked_add(data_len)
                .is_some_and(|end| end <= u64::from(u32::MAX)) =>
        {
            Ok(classic)
        }
        _ => directory(true, shape, metadata).ok_or_else(too_large),
    }
}

#[derive(Clone, Copy)]
struct Shape {
    width: u32,
    height: u32,
    layout: Layout,
    depth: Depth,
}

impl Shape {
    fn bits(self) -> u16 {
        match self.depth {
            Depth::U8 => 8,
            Depth::U16 => 16,
        }
    }

    fn row_bytes(self) -> u64 {
        u64::from(self.width) * self.layout.channels() as u64 * u64::from(self.bits() / 8)
    }
}

/// The header and directory of a classic TIFF or (`big`) a BigTIFF, or `None` when a classic
/// TIFF cannot address it.
fn directory(big: bool, shape: Shape, metadata: &Metadata) -> Option<Vec<u8>> {
    let height = u64::from(shape.height);
    let row_bytes = shape.row_bytes();
    let rows_per_strip = (STRIP_BYTES / row_bytes.max(1)).min(height).max(1);
    let strip_lens: Vec<u64> = (0..height.div_ceil(rows_per_strip))
        .map(|i| (height - i * rows_per_strip).min(rows_per_strip) * row_bytes)
        .collect();
    let channels = shape.layout.channels();
    let photometric = if shape.layout.is_gray() || metadata.bands == Bands::Stack {
        PhotometricInterpretation::BlackIsZero
    } else {
        PhotometricInterpretation::RGB
    };
    // The pixels start where the directory ends, which depends only on the entries' sizes.
    let entries = |data_start: u64| -> Option<Vec<Entry>> {
        let mut offsets = Vec::with_capacity(strip_lens.len());
        let mut next = data_start;
        for &len in &strip_lens {
            offsets.push(next);
            next = next.checked_add(len)?;
        }
        let mut entries = vec![
            Entry::long(Tag::ImageWidth, shape.width),
            Entry::long(Tag::ImageLength, shape.height),
            Entry::shorts(Tag::BitsPerSample, &vec![shape.bits(); channels]),
            Entry::shorts(Tag::Compression, &[CompressionMethod::None.to_u16()]),
            Entry::shorts(Tag::PhotometricInterpretation, &[photometric.to_u16()]),
            Entry::offsets(Tag::StripOffsets, &offsets, big)?,
            Entry::shorts(Tag::SamplesPerPixel, &[u16::try_from(channels).ok()?]),
            Entry::long(Tag::RowsPerStrip, u32::try_from(rows_per_strip).ok()?),
            Entry::offsets(Tag::StripByteCounts, &strip_lens, big)?,
            Entry::rational(Tag::XResolution, 1, 1),
            Entry::rational(Tag::YResolution, 1, 1),
            Entry::shorts(
                Tag::PlanarConfiguration,
                &[PlanarConfiguration::Chunky.to_u16()],
            ),
            Entry::shorts(Tag::ResolutionUnit, &[ResolutionUnit::None.to_u16()]),
        ];
        let unspecified = ExtraSamples::Unspecified.to_u16();
        let extra = match metadata.bands {
            Bands::Stack => vec![unspecified; channels - 1],
            Bands::ColorAndData if shape.layout.has_alpha() => vec![unspecified],
            _ if shape.layout.has_alpha() => vec![ExtraSamples::UnassociatedAlpha.to_u16()],
            _ => Vec::new(),
        };
        if !extra.is_empty() {
            entries.push(Entry::shorts(Tag::ExtraSamples, &extra));
        }
        let uint = SampleFormat::Uint.to_u16();
        entries.push(Entry::shorts(Tag::SampleFormat, &vec![uint; channels]));
        if let Some(icc) = metadata.icc_profile.as_deref().filter(|p| !p.is_empty()) {
            entries.push(Entry {
                tag: Tag::IccProfile,
                kind: Type::UNDEFINED,
                count: icc.len() as u64,
                bytes: icc.to_vec(),
            });
        }
        if let Some(geo) = &metadata.geo {
            entries.extend(geo_entries(geo));
        }
        // TIFF wants the directory in ascending tag order.
        entries.sort_by_key(|e| e.tag.to_u16());
        Some(entries)
    };
    let len = serialize(big, &entries(0)?)?.len() as u64;
    serialize(big, &entries(len)?)
}

/// The GeoTIFF tags that `geo` has.
fn geo_entries(geo: &GeoTiff) -> Vec<Entry> {
    let mut entries = Vec::new();
    let mut doubles = |tag, values: &[f64]| {
        if !values.is_empty() {
            entries.push(Entry::doubles(tag, values));
        }
    };
    doubles(
        Tag::ModelPixelScaleTag,
        geo.pixel_scale.as_deref().unwrap_or_default(),
    );
    doubles(Tag::ModelTiepointTag, &geo.tiepoints);
    doubles(
        Tag::ModelTransformationTag,
        geo.transformation.as_deref().unwrap_or_default(),
    );
    doubles(Tag::GeoDoubleParamsTag, &geo.double_params);
    if !geo.key_directory.is_empty() {
        entries.push(Entry::shorts(Tag::GeoKeyDirectoryTag, &geo.key_directory));
    }
    let texts = [
        (Tag::GeoAsciiParamsTag, &geo.ascii_params),
        (Tag::GdalNodata, &geo.nodata),
        (Tag::Unknown(42112), &geo.gdal_metadata),
    ];
    for (tag, text) in texts {
        if let Some(text) = text {
            entries.push(Entry::ascii(tag, text));
        }
    }
    entries
}

/// One directory entry, its value as little-endian bytes.
struct Entry {
    tag: Tag,
    kind: Type,
    count: u64,
    bytes: Vec<u8>,
}

impl Entry {
    fn shorts(tag: Tag, values: &[u16]) -> Self {
        Self {
            tag,
            kind: Type::SHORT,
            count: values.len() as u64,
            bytes: values.iter().flat_map(|v| v.to_le_bytes()).collect(),
        }
    }

    fn doubles(tag: Tag, values: &[f64]) -> Self {
        Self {
            tag,
            kind: Type::DOUBLE,
            count: values.len() as u64,
            bytes: values.iter().flat_map(|v| v.to_le_bytes()).collect(),
        }
    }

    /// NUL-terminated text.
    fn ascii(tag: Tag, text: &str) -> Self {
        let mut bytes = text.as_bytes().to_vec();
        bytes.push(0);
        Self {
            tag,
            kind: Type::ASCII,
            count: bytes.len() as u64,
            bytes,
        }
    }

    fn long(tag: Tag, value: u32) -> Self {
        Self {
            tag,
            kind: Type::LONG,
            count: 1,
            bytes: value.to_le_bytes().to_vec(),
        }
    }

    fn rational(tag: Tag, numerator: u32, denominator: u32) -> Self {
        let mut bytes = numerator.to_le_bytes().to_vec();
        bytes.extend(denominator.to_le_bytes());
        Self {
            tag,
            kind: Type::RATIONAL,
            count: 1,
            bytes,
        }
    }

    /// File offsets or byte counts: 64-bit in a BigTIFF, else 32-bit (`None` if one overflows).
    fn offsets(tag: Tag, values: &[u64], big: bool) -> Option<Self> {
        let (kind, bytes) = if big {
            (
                Type::LONG8,
                values.iter().flat_map(|v| v.to_le_bytes()).collect(),
            )
        } else {
            let mut bytes = Vec::with_capacity(values.len() * 4);
            for &v in values {
                bytes.extend(u32::try_from(v).ok()?.to_le_bytes());
            }
            (Type::LONG, bytes)
        };
        Some(Self {
            tag,
            kind,
            count: values.len() as u64,
            bytes,
        })
    }
}

/// Header, directory (entries in ascending tag order) and the values too long to sit in their
/// entries, each at an even offset; `None` when a classic TIFF cannot hold an offset or count.
fn serialize(big: bool, entries: &[Entry]) -> Option<Vec<u8>> {
    // A classic TIFF has 32-bit counts and offsets and 4-byte inline values; a BigTIFF 64 and 8.
    let word = |out: &mut Vec<u8>, value: u64| -> Option<()> {
        if big {
            out.extend(value.to_le_bytes());
        } else {
            out.extend(u32::try_from(value).ok()?.to_le_bytes());
        }
        Some(())
    };
    let inline = if big { 8 } else { 4 };
    let mut out = b"II".to_vec();
    if big {
        out.extend(43u16.to_le_bytes());
        out.extend(8u16.to_le_bytes()); // offset size
        out.extend(0u16.to_le_bytes());
    } else {
        out.extend(42u16.to_le_bytes());
    }
    let directory_start = out.len() + inline;
    word(&mut out, directory_start as u64)?;
    let directory_len = if big {
        8 + 20 * entries.len() + 8
    } else {
        2 + 12 * entries.len() + 4
    };
    let values_start = directory_start + directory_len;
    let mut values = Vec::new();
    if big {
        out.extend((entries.len() as u64).to_le_bytes());
    } else {
        out.extend(u16::try_from(entries.len()).ok()?.to_le_bytes());
    }
    for entry in entries {
        out.extend(entry.tag.to_u16().to_le_bytes());
        out.extend(entry.kind.to_u16().to_le_bytes());
        word(&mut out, entry.count)?;
        if entry.bytes.len() <= inline {
            let mut field = entry.bytes.clone();
            field.resize(inline, 0);
            out.extend(field);
        } else {
            word(&mut out, (values_start + values.len()) as u64)?;
            values.extend(&entry.bytes);
            if values.len() % 2 == 1 {
                values.push(0);
            }
        }
    }
    word(&mut out, 0)?; // no next directory
    out.extend(values);
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bigtiff_layout_reads_back() {
        let (w, h) = (5, 3);
        let data: Vec<f32> = (0..w * h * 4).map(|i| (i * 2053 % 65536) as f32).collect();
        let img = Image::new(w, h, Layout::Rgba, Depth::U16, data.clone()).unwrap();
        let icc = b"profile".as_slice();
        let shape = Shape {
            width: w as u32,
            height: h as u32,
            layout: img.layout(),
            depth: img.depth(),
        };
        let metadata = Metadata {
            icc_profile: Some(icc.to_vec()),
            ..Metadata::default()
        };
        let mut bytes = directory(true, shape, &metadata).unwrap();
        assert_eq!(&bytes[..4], b"II+\0");
        bytes.extend(io::sample_bytes(&img, u16::to_le_bytes));
        let back = io::decode(&bytes, Path::new("big.tif"), ReadOptions::default()).unwrap();
        assert_eq!(back.image, img);
        assert_eq!(back.metadata.icc_profile.as_deref(), Some(icc));
        // `image` (through the same `tiff` decoder, but its own reading of the tags) agrees,
        // once told the format: it does not recognise BigTIFF by its signature.
        let theirs = image::load_from_memory_with_format(&bytes, image::ImageFormat::Tiff)
            .unwrap()
            .into_rgba16();
        let theirs: Vec<f32> = theirs.into_raw().into_iter().map(f32::from).collect();
        assert_eq!(theirs, data);
    }

    #[test]
    fn rgb_with_a_data_band_reads_back_as_data() {
        let (w, h) = (6, 4);
        let data: Vec<f32> = (0..w * h * 4).map(|i| (i * 37 % 256) as f32).collect();
        let img = Image::new(w, h, Layout::Rgba, Depth::U8, data).unwrap();
        let metadata = Metadata {
            bands: Bands::ColorAndData,
            ..Metadata::default()
        };
        for big in [false, true] {
            let shape = Shape {
                width: w as u32,
                height: h as u32,
                layout: img.layout(),
                depth: img.depth(),
            };
            // Written with ExtraSamples "unspecified", which the `tiff` crate cannot decode.
            let mut bytes = directory(big, shape, &metadata).unwrap();
            bytes.extend(io::sample_bytes(&img, u16::to_le_bytes));
            let back = io::decode(&bytes, Path::new("rgbn.tif"), ReadOptions::default()).unwrap();
            assert_eq!(back.image, img, "BigTIFF: {big}");
            assert_eq!(back.metadata.bands, Bands::ColorAndData, "BigTIFF: {big}");
        }
    }

    #[test]
    fn truncated_tiffs_are_errors_naming_the_file() {
        let data = (0..64 * 32 * 3).map(|i| (i % 251) as f32).collect();
        let img = Image::new(64, 32, Layout::Rgb, Depth::U8, data).unwrap();
        let bytes = encode(&img, &Metadata::default()).unwrap();
        let cut = &bytes[..bytes.len() - 100];
        let name = Path::new("cut.tif");
        let err = io::decode(cut, name, ReadOptions::default()).unwrap_err();
        let msg = err.to_string();
        assert!(msg.starts_with("cut.tif: "), "{msg}");
        assert!(!msg.contains('\n'));
        // The header is whole, so streaming starts, and fails at the strip cut short.
        let mut rows = TiffRows::open(std::io::Cursor::new(cut), name, ReadOptions::default())
            .unwrap()
            .unwrap();
        let err = rows.read_rows(1).unwrap_err().to_string();
        assert!(err.starts_with("cut.tif: "), "{err}");
    }

    #[test]
    fn classic_unless_past_4_gib() {
        let small = header(100, 100, Layout::Rgb, Depth::U8, &Metadata::default()).unwrap();
        assert_eq!(&small[..4], b"II*\0");
        // 40000 x 40000 RGB is 4.8 GB of pixels: only a BigTIFF can address it.
        let huge = header(40_000, 40_000, Layout::Rgb, Depth::U8, &Metadata::default()).unwrap();
        assert_eq!(&huge[..4], b"II+\0");
        assert!(header(0, 5, Layout::Rgb, Depth::U8, &Metadata::default()).is_err());
    }
}
