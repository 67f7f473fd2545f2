//! Hyper-parameters that differ from a registered model's defaults: what `upres search` varies
//! in the EDSR family (depth, width, upsampler), and the depth and width of imported RRDBNet
//! and SRVGGNetCompact models (Real-ESRGAN's anime RRDBNet has 6 blocks, not 23), and FSRCNN's
//! centred transposed convolution. A model file carries its variant (`upres.variant`) so that
//! it rebuilds the same network.

use std::fmt;
use std::str::FromStr;

/// Metadata key of the variant in upres model files.
pub const META_VARIANT: &str = "upres.variant";

/// Changes to a model's preset; the default changes nothing. Written and read as
/// `blocks=4,features=32,upsampler=sub-pixel` (set fields only).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Variant {
    /// Residual blocks (EDSR), RRDB blocks (RRDBNet) or convolutions after the first
    /// (SRVGGNetCompact).
    pub blocks: Option<usize>,
    /// Feature channels.
    pub features: Option<usize>,
    /// ESPCN's sub-pixel tail instead of EDSR's upsampler stages.
    pub sub_pixel: bool,
    /// SRVGGNetCompact's own upscaling factor, its output then resized by bicubic to the
    /// model's scale.
    pub network_scale: Option<usize>,
    /// FSRCNN's transposed convolution centred on the pixels each input pixel covers, instead
    /// of the PyTorch port's layout (`deconv=centred`).
    pub centred_deconv: bool,
}

impl Variant {
    /// Whether it changes nothing.
    pub fn is_default(&self) -> bool {
        *self == Self::default()
    }

    /// Whether the layers and their sizes stay the preset's, so its paper's figures apply:
    /// centring FSRCNN's kernel only moves it.
    pub fn keeps_layers(&self) -> bool {
        Self {
            centred_deconv: false,
            ..*self
        }
        .is_default()
    }
}

impl fmt::Display for Variant {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut parts = Vec::new();
        if let Some(blocks) = self.blocks {
            parts.push(format!("blocks={blocks}"));
        }
        if let Some(features) = self.features {
            parts.push(format!("features={features}"));
        }
        if self.sub_pixel {
            parts.push("upsampler=sub-pixel".to_string());
        }
        if let Some(scale) = self.network_scale {
            parts.push(format!("network-scale={scale}"));
        }
        if self.centred_deconv {
            parts.push("deconv=centred".to_string());
        }
        write!(f, "{}", parts.join(","))
    }
}

impl FromStr for Variant {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, String> {
        let mut variant = Self::default();
        for part in text.split(',').filter(|p| !p.trim().is_empty()) {
            let (key, value) = part
                .split_once('=')
                .ok_or_else(|| format!("`{part}` is not key=value"))?;
            let count = || {
                value
                    .trim()
                    .parse::<usize>()
                    .ok()
                    .filter(|&n| n > 0 || key.trim() == "blocks")
                    .ok_or_else(|| format!("{key}: `{value}` is not a count"))
            };
            match key.trim() {
                "blocks" => variant.blocks = Some(count()?),
                "features" => variant.features = Some(count()?),
                "network-scale" => variant.network_scale = Some(count()?),
                "upsampler" => {
                    variant.sub_pixel = match value.trim() {
                        "sub-pixel" => true,
                        "edsr" => false,
                        other => return Err(format!("upsampler `{other}`: use edsr or sub-pixel")),
                    }
                }
                "deconv" => {
                    variant.centred_deconv = match value.trim() {
                        "centred" => true,
                        "port" => false,
                        other => return Err(format!("deconv `{other}`: use port or centred")),
                    }
                }
                other => {
                    return Err(format!(
                        "unknown variant key `{other}` (blocks, features, upsampler, \
                         network-scale, deconv)"
                    ));
                }
            }
        }
        Ok(variant)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_round_trip() {
        let variant = Variant {
            blocks: Some(0),
            features: Some(32),
            sub_pixel: true,
            network_scale: Some(4),
            centred_deconv: true,
        };
        assert_eq!(
            variant.to_string(),
            "blocks=0,features=32,upsampler=sub-pixel,network-scale=4,deconv=centred"
        );
        assert_eq!(variant.to_string().parse::<Variant>().unwrap(), variant);
        assert!("".parse::<Variant>().unwrap().is_default());
        assert!("deconv=centred".parse::<Variant>().unwrap().keeps_layers());
        assert!(
            !"blocks=4,deconv=centred"
                .parse::<Variant>()
                .unwrap()
                .keeps_layers()
        );
        for bad in [
            "blocks",
            "features=0",
            "width=3",
            "upsampler=bilinear",
            "deconv=4",
        ] {
            assert!(bad.parse::<Variant>().is_err(), "{bad}");
        }
    }
}
