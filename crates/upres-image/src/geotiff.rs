//! GeoTIFF georeferencing, carried from a TIFF input to a TIFF output with the raster-to-model
//! transform rescaled by the upscaling factor, so that an upscaled scene still lies on the map
//! where the original did. The CRS (GeoKeys) and GDAL's nodata and metadata tags are copied as
//! they are.

use std::io::{Read, Seek};
use tiff::decoder::Decoder;
use tiff::tags::Tag;

/// GDAL's XML metadata tag (band statistics, scale and offset, descriptions).
const GDAL_METADATA: Tag = Tag::Unknown(42112);
/// GTRasterTypeGeoKey, whose value 2 (RasterPixelIsPoint) puts model coordinates at pixel
/// centres instead of pixel corners.
const RASTER_TYPE_KEY: u16 = 1025;
const RASTER_PIXEL_IS_POINT: u16 = 2;

/// The georeferencing tags of a GeoTIFF, their values as the file holds them.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct GeoTiff {
    /// ModelPixelScaleTag: (ScaleX, ScaleY, ScaleZ), model units per pixel.
    pub pixel_scale: Option<Vec<f64>>,
    /// ModelTiepointTag: (I, J, K, X, Y, Z) raster-to-model pairs, six values each.
    pub tiepoints: Vec<f64>,
    /// ModelTransformationTag: a 4x4 row-major raster-to-model matrix.
    pub transformation: Option<Vec<f64>>,
    /// GeoKeyDirectoryTag, GeoDoubleParamsTag, GeoAsciiParamsTag: the CRS.
    pub key_directory: Vec<u16>,
    pub double_params: Vec<f64>,
    pub ascii_params: Option<String>,
    /// GDAL_NODATA and GDAL_METADATA.
    pub nodata: Option<String>,
    pub gdal_metadata: Option<String>,
}

impl GeoTiff {
    /// The georeferencing of the decoder's image, or `None` if it has none.
    pub(crate) fn read<R: Read + Seek>(decoder: &mut Decoder<R>) -> Option<Self> {
        let mut find = |tag| decoder.find_tag(tag).ok().flatten();
        let doubles = |v: Option<tiff::decoder::ifd::Value>| v.and_then(|v| v.into_f64_vec().ok());
        let text = |v: Option<tiff::decoder::ifd::Value>| v.and_then(|v| v.into_string().ok());
        let geo = Self {
            pixel_scale: doubles(find(Tag::ModelPixelScaleTag)),
            tiepoints: doubles(find(Tag::ModelTiepointTag)).unwrap_or_default(),
            transformation: doubles(find(Tag::ModelTransformationTag)),
            key_directory: find(Tag::GeoKeyDirectoryTag)
                .and_then(|v| v.into_u16_vec().ok())
                .unwrap_or_default(),
            double_params: doubles(find(Tag::GeoDoubleParamsTag)).unwrap_or_default(),
            ascii_params: text(find(Tag::GeoAsciiParamsTag)),
            nodata: text(find(Tag::GdalNodata)),
            gdal_metadata: text(find(GDAL_METADATA)),
        };
        (geo != Self::default()).then_some(geo)
    }

    /// Whether model coordinates refer to pixel centres (RasterPixelIsPoint) rather than
    /// pixel corners (RasterPixelIsArea, the default).
    pub fn pixel_is_point(&self) -> bool {
        // A header of four shorts, then (KeyID, TIFFTagLocation, Count, Value) per key.
        self.key_directory
            .get(4..)
            .unwrap_or_default()
            .chunks_exact(4)
            .any(|key| key[0] == RASTER_TYPE_KEY && key[1] == 0 && key[3] == RASTER_PIXEL_IS_POINT)
    }

    /// The georeferencing of the image resampled by `factor` (2 for x2 upscaling): pixels are
    /// `factor` times smaller and the scene covers the same ground.
    pub fn resized(&self, factor: f64) -> Self {
        // Raster coordinate u' of the new image is u = u'/factor + shift in the old one: the
        // corners coincide for area pixels, the outer pixels' centres move for point pixels.
        let shift = if self.pixel_is_point() {
            0.5 / factor - 0.5
        } else {
            0.0
        };
        let mut geo = self.clone();
        if let Some(scale) = geo.pixel_scale.as_mut().filter(|s| s.len() >= 2) {
            scale[0] /= factor;
            scale[1] /= factor;
        }
        for tie in geo.tiepoints.chunks_exact_mut(6) {
            tie[0] = (tie[0] - shift) * factor;
            tie[1] = (tie[1] - shift) * factor;
        }
        if let Some(m) = geo.transformation.as_mut().filter(|m| m.len() == 16) {
            for row in m.chunks_exact_mut(4) {
                row[3] += (row[0] + row[1]) * shift;
                row[0] /= factor;
                row[1] /= factor;
            }
        }
        geo
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The model coordinates of raster point (i, j) under tiepoint and pixel scale.
    fn model(geo: &GeoTiff, i: f64, j: f64) -> (f64, f64) {
        let (t, s) = (&geo.tiepoints, geo.pixel_scale.as_ref().unwrap());
        (t[3] + (i - t[0]) * s[0], t[4] - (j - t[1]) * s[1])
    }

    fn utm(point: bool) -> GeoTiff {
        let raster_type = if point { 2 } else { 1 };
        GeoTiff {
            pixel_scale: Some(vec![10.0, 10.0, 0.0]),
            tiepoints: vec![0.0, 0.0, 0.0, 500_000.0, 4_600_000.0, 0.0],
            key_directory: vec![1, 1, 0, 2, 1025, 0, 1, raster_type, 3072, 0, 1, 32633],
            ..GeoTiff::default()
        }
    }

    #[test]
    fn area_pixels_keep_their_corners() {
        let up = utm(false).resized(2.0);
        assert_eq!(up.pixel_scale.as_deref(), Some(&[5.0, 5.0, 0.0][..]));
        // The old image's corner (0, 0) and far corner (72, 72) are the new (0, 0), (144, 144).
        assert_eq!(model(&up, 0.0, 0.0), model(&utm(false), 0.0, 0.0));
        assert_eq!(model(&up, 144.0, 144.0), model(&utm(false), 72.0, 72.0));
        assert_eq!(
            up.key_directory,
            utm(false).key_directory,
            "the CRS is kept"
        );
    }

    #[test]
    fn point_pixels_keep_the_footprint() {
        let old = utm(true);
        assert!(old.pixel_is_point());
        let up = old.resized(4.0);
        // Pixel centre u of the old image is the centre (u + 0.5) * 4 - 0.5 of the new one.
        for u in [0.0, 3.0, 71.0] {
            let (x_old, y_old) = model(&old, u, u);
            let (x_new, y_new) = model(&up, (u + 0.5) * 4.0 - 0.5, (u + 0.5) * 4.0 - 0.5);
            assert!((x_old - x_new).abs() < 1e-6 && (y_old - y_new).abs() < 1e-6);
        }
    }

    #[test]
    fn a_transformation_matrix_scales_like_the_tiepoint() {
        let mut m = vec![0.0; 16];
        m[0] = 10.0;
        m[3] = 500_000.0;
        m[5] = -10.0;
        m[7] = 4_600_000.0;
        m[15] = 1.0;
        let geo = GeoTiff {
            transformation: Some(m),
            ..GeoTiff::default()
        };
        let up = geo.resized(2.0).transformation.unwrap();
        assert_eq!(
            (up[0], up[3], up[5], up[7]),
            (5.0, 500_000.0, -5.0, 4_600_000.0)
        );
    }
}
