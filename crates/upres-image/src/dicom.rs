//! DICOM images, read with the pure-Rust `dicom-object` crate: single-frame, uncompressed
//! (implicit or explicit VR little endian), one sample per pixel, 8 or 16 bits unsigned. The
//! stored values are kept as they are, a 16-bit image as 16-bit gray: windowing and the
//! rescale slope and intercept are display matters, left out of upscaling. Anything else is
//! refused in one line that says what the file is. upres writes PNG or TIFF, not DICOM.

use std::path::Path;

use dicom_dictionary_std::tags;
use dicom_object::Tag;

use crate::error::{ImageError, Result};
use crate::io::ReadOptions;
use crate::{Depth, Image, Layout};

/// Transfer syntaxes whose pixel data are stored plainly, little endian.
const NATIVE_LITTLE_ENDIAN: [&str; 2] = ["1.2.840.10008.1.2", "1.2.840.10008.1.2.1"];

/// Whether `start` (a file's first bytes) is a DICOM file: "DICM" after the 128-byte preamble.
pub(crate) fn is_dicom(start: &[u8]) -> bool {
    start.get(128..132) == Some(b"DICM".as_slice())
}

/// Decodes a whole DICOM file held in `bytes`.
pub(crate) fn decode(bytes: &[u8], path: &Path, options: ReadOptions) -> Result<Image> {
    let unsupported = |reason: String| ImageError::Unsupported {
        path: path.to_path_buf(),
        reason,
    };
    let broken = |reason: String| ImageError::Decode {
        path: path.to_path_buf(),
        reason,
    };
    let object = dicom_object::from_reader(&bytes[128..]).map_err(|e| broken(e.to_string()))?;
    let syntax = object.meta().transfer_syntax().trim_end_matches('\0');
    if !NATIVE_LITTLE_ENDIAN.contains(&syntax) {
        return Err(unsupported(format!(
            "DICOM transfer syntax {syntax} (compressed or big endian); convert it to explicit \
             VR little endian first (e.g. gdcmconv --raw)"
        )));
    }
    let int = |tag: Tag, name: &str| -> Result<u32> {
        object
            .element(tag)
            .map_err(|_| broken(format!("no {name}")))?
            .to_int::<u32>()
            .map_err(|e| broken(format!("{name}: {e}")))
    };
    let (width, height) = (int(tags::COLUMNS, "Columns")?, int(tags::ROWS, "Rows")?);
    let samples = int(tags::SAMPLES_PER_PIXEL, "SamplesPerPixel")?;
    let bits = int(tags::BITS_ALLOCATED, "BitsAllocated")?;
    let signed = int(tags::PIXEL_REPRESENTATION, "PixelRepresentation")? != 0;
    let frames = object
        .element_opt(tags::NUMBER_OF_FRAMES)
        .ok()
        .flatten()
        .and_then(|e| e.to_int::<u32>().ok())
        .unwrap_or(1);
    if samples != 1 || frames != 1 || signed || !matches!(bits, 8 | 16) {
        return Err(unsupported(format!(
            "a DICOM image of {samples} sample(s) per pixel, {frames} frame(s), {bits} bits \
             {}; upres reads single-frame unsigned 8- or 16-bit gray",
            if signed { "signed" } else { "unsigned" }
        )));
    }
    crate::io::check_pixel_limit(path, width, height, options)?;
    let data = object
        .element(tags::PIXEL_DATA)
        .map_err(|_| broken("no PixelData".into()))?
        .to_bytes()
        .map_err(|e| broken(format!("PixelData: {e}")))?;
    let (w, h) = (width as usize, height as usize);
    let (samples, depth): (Vec<f32>, Depth) = match bits {
        8 => (
            data.iter().take(w * h).map(|&v| f32::from(v)).collect(),
            Depth::U8,
        ),
        _ => (
            data.chunks_exact(2)
                .take(w * h)
                .map(|b| f32::from(u16::from_le_bytes([b[0], b[1]])))
                .collect(),
            Depth::U16,
        ),
    };
    if samples.len() != w * h {
        return Err(broken(format!(
            "PixelData holds {} of the {}x{} pixels",
            samples.len(),
            w,
            h
        )));
    }
    Image::new(w, h, Layout::Gray, depth, samples)
}

#[cfg(test)]
mod tests {
    use super::*;
    use dicom_core::{DataElement, PrimitiveValue, VR};
    use dicom_object::{FileMetaTableBuilder, InMemDicomObject as DicomObject};

    /// A 16-bit gray DICOM file of `w x h` pixels with `values`, as a scanner would write it.
    fn dicom_file(w: u16, h: u16, values: &[u16], signed: bool) -> Vec<u8> {
        let mut object = DicomObject::new_empty();
        let put = |object: &mut DicomObject, tag, vr, value| {
            object.put(DataElement::new(tag, vr, value));
        };
        let shorts = [
            (tags::ROWS, h),
            (tags::COLUMNS, w),
            (tags::SAMPLES_PER_PIXEL, 1),
            (tags::BITS_ALLOCATED, 16),
            (tags::BITS_STORED, 16),
            (tags::HIGH_BIT, 15),
            (tags::PIXEL_REPRESENTATION, u16::from(signed)),
        ];
        for (tag, value) in shorts {
            put(&mut object, tag, VR::US, PrimitiveValue::from(value));
        }
        put(
            &mut object,
            tags::PHOTOMETRIC_INTERPRETATION,
            VR::CS,
            PrimitiveValue::from("MONOCHROME2"),
        );
        put(
            &mut object,
            tags::PIXEL_DATA,
            VR::OW,
            PrimitiveValue::U16(values.iter().copied().collect()),
        );
        let meta = FileMetaTableBuilder::new()
            .transfer_syntax("1.2.840.10008.1.2.1")
            .media_storage_sop_class_uid("1.2.840.10008.5.1.4.1.1.7")
            .media_storage_sop_instance_uid("1.2.3.4")
            .build()
            .unwrap();
        let mut bytes = Vec::new();
        object.with_exact_meta(meta).write_all(&mut bytes).unwrap();
        bytes
    }

    #[test]
    fn sixteen_bit_values_are_kept() {
        let values: Vec<u16> = (0..6 * 4).map(|i| (i * 2731) as u16).collect();
        let bytes = dicom_file(6, 4, &values, false);
        assert!(is_dicom(&bytes));
        let image = decode(&bytes, Path::new("x.dcm"), ReadOptions::default()).unwrap();
        assert_eq!((image.width(), image.height()), (6, 4));
        assert_eq!((image.layout(), image.depth()), (Layout::Gray, Depth::U16));
        let expected: Vec<f32> = values.iter().map(|&v| f32::from(v)).collect();
        assert_eq!(image.data(), expected.as_slice());
    }

    #[test]
    fn files_read_whole_and_write_as_png_only() {
        use crate::io::{self, WriteOptions};
        use crate::stream::{FileRows, RowSource};
        let values: Vec<u16> = (0..5 * 3).map(|i| 300 + i * 4000).collect();
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("scan.dcm");
        std::fs::write(&path, dicom_file(5, 3, &values, false)).unwrap();
        let expected: Vec<f32> = values.iter().map(|&v| f32::from(v)).collect();

        let decoded = io::read(&path).unwrap();
        assert_eq!(decoded.format, io::Format::Dicom);
        assert_eq!(decoded.image.data(), expected.as_slice());
        let mut rows = FileRows::open(&path, ReadOptions::default()).unwrap();
        assert_eq!(rows.read_rows(3).unwrap().data(), expected.as_slice());

        let png = dir.path().join("scan.png");
        io::write(
            &png,
            &decoded.image,
            &decoded.metadata,
            WriteOptions::default(),
        )
        .unwrap();
        assert_eq!(io::read(&png).unwrap().image, decoded.image);
        let err = io::write(
            &dir.path().join("out.dcm"),
            &decoded.image,
            &decoded.metadata,
            WriteOptions::default(),
        )
        .unwrap_err();
        assert!(err.to_string().contains("png"), "{err}");

        std::fs::write(&path, dicom_file(5, 3, &values, true)).unwrap();
        let err = io::read(&path).unwrap_err().to_string();
        assert!(err.contains("signed") && err.contains("scan.dcm"), "{err}");
    }
}
