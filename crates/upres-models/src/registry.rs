//! Every model upres knows by name, the scales each supports, and a builder.
//!
//! [`build`] makes any registered model at a scale on a device, with paper-default
//! hyper-parameters; [`entries`] lists them all, with parameter counts per scale, as plain data
//! (parameters are created lazily, so listing allocates no weights).

use std::collections::HashMap;
use std::path::Path;

use burn::tensor::{Device, Tensor};

use crate::arch::{
    EdsrConfig, EspcnConfig, Fsrcnn, FsrcnnConfig, MsrResNetConfig, RcanConfig, RrdbNetConfig,
    SrNetwork, SrResNetConfig, SrVggConfig, SrcnnConfig, UNetSrConfig, trainable_params,
};
use crate::error::{ModelError, WeightsError};
use crate::int8::{Int8Calibration, META_INT8};
use crate::ops::{BurnOps, ConvLayer, CostOps, SrOps};
use crate::variant::{META_VARIANT, Variant};
use crate::weights::{self, Source};

/// What a model takes as input.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InputKind {
    /// The low-resolution image; the model upscales it.
    LowResolution,
    /// The image already upscaled to the target size with bicubic interpolation (SRCNN); the
    /// caller upsamples, the model keeps the size.
    Upsampled,
}

/// Which image channels a model sees.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ColorSpace {
    /// Red, green and blue.
    Rgb,
    /// The BT.601 luma (Y) channel, on MATLAB's studio swing scaled to [16/255, 235/255], as
    /// the early papers train and evaluate; chroma is upscaled by bicubic interpolation.
    Luma,
}

impl ColorSpace {
    /// The name model files and tables use: `rgb` or `luma`.
    pub fn name(self) -> &'static str {
        match self {
            ColorSpace::Rgb => "rgb",
            ColorSpace::Luma => "luma",
        }
    }

    /// Channels of the network's input and output.
    pub fn channels(self) -> usize {
        match self {
            ColorSpace::Rgb => 3,
            ColorSpace::Luma => 1,
        }
    }
}

/// A registered model.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ModelSpec {
    /// Registry name (`edsr-baseline`, ...).
    pub name: &'static str,
    /// One-line description.
    pub description: &'static str,
    /// The paper that introduced it.
    pub paper: &'static str,
    /// Supported upscaling factors.
    pub scales: &'static [usize],
    /// Whether the model takes the low-resolution or the bicubic-upscaled image.
    pub input: InputKind,
    /// The channels it works on.
    pub color: ColorSpace,
}

const SRCNN_PAPER: &str = "Image Super-Resolution Using Deep Convolutional Networks, TPAMI 2016";
const FSRCNN_PAPER: &str =
    "Accelerating the Super-Resolution Convolutional Neural Network, ECCV 2016";
const ESPCN_PAPER: &str =
    "Real-Time Single Image and Video Super-Resolution Using an Efficient Sub-Pixel CNN, CVPR 2016";

const UNET_PAPER: &str =
    "U-Net: Convolutional Networks for Biomedical Image Segmentation, MICCAI 2015";

const SPECS: &[ModelSpec] = &[
    ModelSpec {
        name: "srcnn",
        description: "SRCNN 9-5-5, 64/32 filters, on the bicubic-upscaled image",
        paper: SRCNN_PAPER,
        scales: &[2, 3, 4],
        input: InputKind::Upsampled,
        color: ColorSpace::Rgb,
    },
    ModelSpec {
        name: "srcnn-y",
        description: "SRCNN 9-5-5 on the luma channel (the paper's setting), chroma by bicubic",
        paper: SRCNN_PAPER,
        scales: &[2, 3, 4],
        input: InputKind::Upsampled,
        color: ColorSpace::Luma,
    },
    ModelSpec {
        name: "fsrcnn",
        description: "FSRCNN d=56 s=12 m=4, PReLU, 9x9 transposed-convolution upsampler",
        paper: FSRCNN_PAPER,
        scales: &[2, 3, 4, 8],
        input: InputKind::LowResolution,
        color: ColorSpace::Rgb,
    },
    ModelSpec {
        name: "fsrcnn-y",
        description: "FSRCNN on the luma channel (the paper's setting), chroma by bicubic",
        paper: FSRCNN_PAPER,
        scales: &[2, 3, 4, 8],
        input: InputKind::LowResolution,
        color: ColorSpace::Luma,
    },
    ModelSpec {
        name: "espcn",
        description: "ESPCN 5x5-64, 3x3-32, tanh, sub-pixel convolution",
        paper: ESPCN_PAPER,
        scales: &[2, 3, 4, 8],
        input: InputKind::LowResolution,
        color: ColorSpace::Rgb,
    },
    ModelSpec {
        name: "espcn-y",
        description: "ESPCN on the luma channel (the paper's setting), chroma by bicubic",
        paper: ESPCN_PAPER,
        scales: &[2, 3, 4, 8],
        input: InputKind::LowResolution,
        color: ColorSpace::Luma,
    },
    ModelSpec {
        name: "edsr-baseline",
        description: "EDSR baseline: 16 residual blocks, 64 features, res_scale 1",
        paper: "Enhanced Deep Residual Networks for Single Image Super-Resolution, CVPRW 2017",
        scales: &[2, 3, 4, 8],
        input: InputKind::LowResolution,
        color: ColorSpace::Rgb,
    },
    ModelSpec {
        name: "edsr",
        description: "EDSR: 32 residual blocks, 256 features, res_scale 0.1",
        paper: "Enhanced Deep Residual Networks for Single Image Super-Resolution, CVPRW 2017",
        scales: &[2, 3, 4, 8],
        input: InputKind::LowResolution,
        color: ColorSpace::Rgb,
    },
    ModelSpec {
        name: "rcan",
        description: "RCAN: 10 residual groups x 20 channel-attention blocks, 64 features",
        paper: "Image Super-Resolution Using Very Deep Residual Channel Attention Networks, ECCV 2018",
        scales: &[2, 3, 4, 8],
        input: InputKind::LowResolution,
        color: ColorSpace::Rgb,
    },
    ModelSpec {
        name: "srresnet",
        description: "SRResNet (SRGAN generator): 16 residual blocks with batch norm, PReLU",
        paper: "Photo-Realistic Single Image Super-Resolution Using a GAN, CVPR 2017",
        scales: &[2, 3, 4, 8],
        input: InputKind::LowResolution,
        color: ColorSpace::Rgb,
    },
    ModelSpec {
        name: "msrresnet",
        description: "MSRResNet (BasicSR): SRResNet without batch norm, bilinear skip",
        paper: "ESRGAN: Enhanced Super-Resolution Generative Adversarial Networks, ECCVW 2018",
        scales: &[2, 3, 4],
        input: InputKind::LowResolution,
        color: ColorSpace::Rgb,
    },
    ModelSpec {
        name: "rrdbnet",
        description: "RRDBNet (ESRGAN / Real-ESRGAN generator): 23 RRDBs, 64 features, growth 32",
        paper: "ESRGAN: Enhanced Super-Resolution Generative Adversarial Networks, ECCVW 2018",
        scales: &[2, 4],
        input: InputKind::LowResolution,
        color: ColorSpace::Rgb,
    },
    ModelSpec {
        name: "srvgg-compact",
        description: "SRVGGNetCompact (Real-ESRGAN compact): 16 convolutions, 64 features, PReLU",
        paper: "Real-ESRGAN: Training Real-World Blind Super-Resolution with Pure Synthetic Data, ICCVW 2021",
        scales: &[2, 3, 4, 8],
        input: InputKind::LowResolution,
        color: ColorSpace::Rgb,
    },
    ModelSpec {
        name: "unet-sr",
        description: "U-Net encoder-decoder (2 levels, 32-64-128 features) + sub-pixel upsampler",
        paper: UNET_PAPER,
        scales: &[2, 3, 4],
        input: InputKind::LowResolution,
        color: ColorSpace::Rgb,
    },
    ModelSpec {
        name: "unet-sr-y",
        description: "U-Net SR on one channel: gray images (medical, scans) or luma",
        paper: UNET_PAPER,
        scales: &[2, 3, 4],
        input: InputKind::LowResolution,
        color: ColorSpace::Luma,
    },
];

/// All registered models.
pub fn specs() -> &'static [ModelSpec] {
    SPECS
}

/// The registered model called `name`.
pub fn spec(name: &str) -> Result<&'static ModelSpec, ModelError> {
    SPECS
        .iter()
        .find(|s| s.name == name)
        .ok_or_else(|| unknown(name))
}

fn unknown(name: &str) -> ModelError {
    ModelError::UnknownModel {
        name: name.to_string(),
        known: SPECS.iter().map(|s| s.name).collect::<Vec<_>>().join(", "),
    }
}

/// A registered model built at a scale.
#[derive(Debug, Clone)]
pub struct SrModel {
    spec: &'static ModelSpec,
    scale: usize,
    /// The network.
    pub network: SrNetwork,
    /// Set for an INT8 model: the calibrated input ranges of its convolutions.
    pub int8: Option<Int8Calibration>,
    variant: Variant,
}

impl SrModel {
    /// The registry entry.
    pub fn spec(&self) -> &'static ModelSpec {
        self.spec
    }

    /// Registry name.
    pub fn name(&self) -> &'static str {
        self.spec.name
    }

    /// How its hyper-parameters differ from the registered preset.
    pub fn variant(&self) -> Variant {
        self.variant
    }

    /// The registry name, with the variant if any: `edsr-baseline (blocks=4,features=32)`.
    pub fn label(&self) -> String {
        if self.variant.is_default() {
            return self.spec.name.to_string();
        }
        format!("{} ({})", self.spec.name, self.variant)
    }

    /// Upscaling factor.
    pub fn scale(&self) -> usize {
        self.scale
    }

    /// Whether the input must be the bicubic-upscaled image ([`InputKind::Upsampled`]).
    pub fn input(&self) -> InputKind {
        self.spec.input
    }

    /// The side of the network's input for a `low_res` side: the same, or `scale` times it
    /// for models that take the bicubic-upscaled image.
    pub fn input_side(&self, low_res: usize) -> usize {
        match self.spec.input {
            InputKind::LowResolution => low_res,
            InputKind::Upsampled => low_res * self.scale,
        }
    }

    /// The same model with its network transformed (an optimizer step, a device move, an
    /// averaged copy of the weights).
    pub fn map_network(self, f: impl FnOnce(SrNetwork) -> SrNetwork) -> Self {
        Self {
            network: f(self.network),
            ..self
        }
    }

    /// The network, for readers of other weight formats to fill.
    pub(crate) fn network_mut(&mut self) -> &mut SrNetwork {
        &mut self.network
    }

    /// The channels the network works on.
    pub fn color(&self) -> ColorSpace {
        self.spec.color
    }

    /// Number of trainable parameters (batch norm running statistics excluded).
    pub fn num_params(&self) -> usize {
        trainable_params(&self.network)
    }

    /// Input sides must be multiples of this: 2 for RRDBNet x2, which pixel-unshuffles its
    /// input, `2^levels` for U-Net SR, 1 otherwise.
    pub fn input_multiple(&self) -> usize {
        match self.network {
            SrNetwork::RrdbNet(_) if self.scale == 2 => 2,
            SrNetwork::UNetSr(_) => 1 << crate::arch::unet::LEVELS,
            _ => 1,
        }
    }

    /// Runs the model on an NCHW batch in [0, 1], RGB or luma (see [`SrModel::color`] and
    /// [`SrModel::input`]); the output is unclamped.
    pub fn forward(&self, x: Tensor<4>) -> Result<Tensor<4>, ModelError> {
        self.run(&BurnOps, x.dims(), x)
    }

    /// [`SrModel::forward`] with any implementation of the operations; `dims` is `x`'s
    /// `[N, C, H, W]`, checked against what the model takes.
    pub fn run<O: SrOps>(
        &self,
        ops: &O,
        dims: [usize; 4],
        x: O::Tensor,
    ) -> Result<O::Tensor, ModelError> {
        let [_, channels, h, w] = dims;
        let invalid = |reason: String| ModelError::InvalidInput {
            model: self.spec.name,
            reason,
        };
        let expected = self.spec.color.channels();
        if channels != expected {
            return Err(invalid(format!(
                "expects {expected} ({:?}) channels, got {channels}",
                self.spec.color
            )));
        }
        let m = self.input_multiple();
        if h == 0 || w == 0 || h % m != 0 || w % m != 0 {
            return Err(invalid(format!(
                "input of {w}x{h} pixels: sides must be positive multiples of {m}"
            )));
        }
        Ok(self.network.run(ops, x))
    }

    /// The network's 2-D convolutions in the order it runs them.
    pub fn convolutions(&self) -> Vec<ConvLayer> {
        let side = 4 * self.input_multiple();
        let dims = [1, self.spec.color.channels(), side, side];
        let ops = CostOps::default();
        self.network.run(&ops, dims);
        ops.convolutions()
    }

    /// Loads a PyTorch checkpoint with the reference implementation's key names.
    pub fn load_pytorch(&mut self, path: &Path) -> Result<(), WeightsError> {
        weights::load_pytorch(&mut self.network, path)
    }

    /// Loads an upres safetensors file.
    pub fn load_safetensors(&mut self, path: &Path) -> Result<(), WeightsError> {
        weights::load_safetensors(&mut self.network, path)
    }

    /// Loads the weights of `path` to start training from: [`SrModel::load_safetensors`], but
    /// an FSRCNN saved in the other transposed-convolution layout is relaid
    /// ([`Fsrcnn::relaid`]), so that training starts from the function the file
    /// computes rather than one shifted by a pixel.
    pub fn load_init(&mut self, path: &Path) -> Result<(), WeightsError> {
        let saved = saved_variant(&weights::read_metadata(Source::File(path))?, path)?;
        let centred = self.variant.centred_deconv;
        match &mut self.network {
            SrNetwork::Fsrcnn(net) if saved.centred_deconv != centred => {
                let relaid = |net: Fsrcnn, centred| {
                    net.relaid(centred).map_err(|source| WeightsError::Model {
                        path: path.to_path_buf(),
                        source,
                    })
                };
                let mut file_layout = relaid(net.clone(), saved.centred_deconv)?;
                weights::load_safetensors(&mut file_layout, path)?;
                *net = relaid(file_layout, centred)?;
                Ok(())
            }
            _ => self.load_safetensors(path),
        }
    }

    /// Saves the parameters as an upres safetensors file whose metadata names the model,
    /// scale and channels (`upres.model`, `upres.scale`, `upres.color`), so that [`load`] can
    /// rebuild it.
    pub fn save_safetensors(&self, path: &Path) -> Result<(), WeightsError> {
        self.save_with_metadata(path, &[])
    }

    /// [`SrModel::save_safetensors`] with `extra` metadata pairs besides (a `.upres` model file
    /// carries the recipe that trained it and its scores).
    pub fn save_with_metadata(
        &self,
        path: &Path,
        extra: &[(&str, &str)],
    ) -> Result<(), WeightsError> {
        let scale = self.scale.to_string();
        let mut metadata = vec![
            (META_MODEL, self.spec.name),
            (META_SCALE, scale.as_str()),
            (META_COLOR, self.spec.color.name()),
        ];
        let variant = self.variant.to_string();
        if !self.variant.is_default() {
            metadata.push((META_VARIANT, &variant));
        }
        let int8 = self.int8.as_ref().map(Int8Calibration::to_json);
        if let Some(int8) = &int8 {
            metadata.push((META_INT8, int8));
        }
        metadata.extend_from_slice(extra);
        weights::save_safetensors(&self.network, path, &metadata)
    }
}

/// Builds the registered model `name` at `scale` on `device`, with paper-default
/// hyper-parameters and freshly initialised weights.
pub fn build(name: &str, scale: usize, device: &Device) -> Result<SrModel, ModelError> {
    build_variant(name, scale, Variant::default(), device)
}

/// [`build`] with `variant`'s changes to the preset.
pub fn build_variant(
    name: &str,
    scale: usize,
    variant: Variant,
    device: &Device,
) -> Result<SrModel, ModelError> {
    let spec = spec(name)?;
    let edsr = |preset: EdsrConfig| {
        let config = EdsrConfig {
            n_resblocks: variant.blocks.unwrap_or(preset.n_resblocks),
            n_feats: variant.features.unwrap_or(preset.n_feats),
            sub_pixel: variant.sub_pixel,
            ..preset
        };
        config.init(device).map(SrNetwork::Edsr)
    };
    let edsr_family = matches!(spec.name, "edsr-baseline" | "edsr");
    let fsrcnn_family = matches!(spec.name, "fsrcnn" | "fsrcnn-y");
    let depth_and_width = edsr_family || matches!(spec.name, "rrdbnet" | "srvgg-compact");
    let resized = variant.blocks.is_some() || variant.features.is_some();
    let misplaced = (variant.sub_pixel && !edsr_family)
        || (variant.network_scale.is_some() && spec.name != "srvgg-compact")
        || (variant.centred_deconv && !fsrcnn_family)
        || (resized && !depth_and_width);
    if misplaced {
        return Err(ModelError::InvalidConfig {
            arch: spec.name,
            reason: format!(
                "variants ({variant}) are for the EDSR family; blocks and features also for \
                 rrdbnet and srvgg-compact, network-scale for srvgg-compact, deconv for fsrcnn"
            ),
        });
    }
    if !spec.scales.contains(&scale) {
        return Err(ModelError::UnsupportedScale {
            arch: spec.name,
            scale,
            supported: join(spec.scales),
        });
    }
    let network = match spec.name {
        "srcnn" => SrNetwork::Srcnn(SrcnnConfig::new().init(device)?),
        "srcnn-y" => SrNetwork::Srcnn(SrcnnConfig::new().with_num_channels(1).init(device)?),
        "fsrcnn" | "fsrcnn-y" => SrNetwork::Fsrcnn(
            FsrcnnConfig::new(scale)
                .with_num_channels(spec.color.channels())
                .with_centred(variant.centred_deconv)
                .init(device)?,
        ),
        "espcn" => SrNetwork::Espcn(EspcnConfig::new(scale).init(device)?),
        "espcn-y" => SrNetwork::Espcn(EspcnConfig::new(scale).with_num_channels(1).init(device)?),
        "unet-sr" => SrNetwork::UNetSr(UNetSrConfig::new(scale).init(device)?),
        "unet-sr-y" => {
            SrNetwork::UNetSr(UNetSrConfig::new(scale).with_num_channels(1).init(device)?)
        }
        "edsr-baseline" => edsr(EdsrConfig::baseline(scale))?,
        "edsr" => edsr(EdsrConfig::full(scale))?,
        "rcan" => SrNetwork::Rcan(RcanConfig::new(scale).init(device)?),
        "srresnet" => SrNetwork::SrResNet(SrResNetConfig::new(scale).init(device)?),
        "msrresnet" => SrNetwork::MsrResNet(MsrResNetConfig::new(scale).init(device)?),
        "rrdbnet" => {
            let preset = RrdbNetConfig::new(scale);
            let config = RrdbNetConfig {
                num_block: variant.blocks.unwrap_or(preset.num_block),
                num_feat: variant.features.unwrap_or(preset.num_feat),
                ..preset
            };
            SrNetwork::RrdbNet(config.init(device)?)
        }
        "srvgg-compact" => {
            let preset = SrVggConfig::new(scale);
            let config = SrVggConfig {
                num_conv: variant.blocks.unwrap_or(preset.num_conv),
                num_feat: variant.features.unwrap_or(preset.num_feat),
                network_scale: variant.network_scale,
                ..preset
            };
            SrNetwork::SrVgg(config.init(device)?)
        }
        other => return Err(unknown(other)),
    };
    Ok(SrModel {
        spec,
        scale,
        int8: None,
        variant,
        network,
    })
}

/// Metadata key of the registry name in upres safetensors files.
pub const META_MODEL: &str = "upres.model";
/// Metadata key of the scale in upres safetensors files.
pub const META_SCALE: &str = "upres.scale";
/// Metadata key of the channels (`rgb` or `luma`) in upres safetensors files.
pub const META_COLOR: &str = "upres.color";

/// The variant a file's metadata records (`upres.variant`; none is the preset).
fn saved_variant(metadata: &HashMap<String, String>, path: &Path) -> Result<Variant, WeightsError> {
    match metadata.get(META_VARIANT) {
        Some(text) => text.parse().map_err(|e| WeightsError::Metadata {
            path: path.to_path_buf(),
            message: format!("`{META_VARIANT}`: {e}"),
        }),
        None => Ok(Variant::default()),
    }
}

/// Builds the model that an upres safetensors file (written by [`SrModel::save_safetensors`])
/// names in its metadata, and loads its weights.
pub fn load(path: &Path, device: &Device) -> Result<SrModel, WeightsError> {
    load_from(Source::File(path), device)
}

/// [`load`] from any [`Source`], such as weights built into the binary.
pub fn load_from(source: Source, device: &Device) -> Result<SrModel, WeightsError> {
    let path = source.label();
    let metadata = weights::read_metadata(source)?;
    let field = |key: &str| {
        metadata.get(key).ok_or_else(|| WeightsError::Metadata {
            path: path.clone(),
            message: format!("no `{key}` metadata: not written by upres"),
        })
    };
    let name = field(META_MODEL)?;
    let scale = field(META_SCALE)?;
    let scale = scale.parse().map_err(|_| WeightsError::Metadata {
        path: path.clone(),
        message: format!("`{META_SCALE}` is `{scale}`, not a scale"),
    })?;
    let variant = saved_variant(&metadata, &path)?;
    let mut model =
        build_variant(name, scale, variant, device).map_err(|source| WeightsError::Model {
            path: path.clone(),
            source,
        })?;
    if let Some(color) = metadata.get(META_COLOR)
        && color != model.color().name()
    {
        return Err(WeightsError::Metadata {
            path,
            message: format!(
                "`{META_COLOR}` is `{color}`, but {name} works on {}",
                model.color().name()
            ),
        });
    }
    if let Some(int8) = metadata.get(META_INT8) {
        let calibration = Int8Calibration::from_json(int8).map_err(|e| WeightsError::Metadata {
            path: path.clone(),
            message: format!("`{META_INT8}`: {e}"),
        })?;
        let convolutions = model.convolutions().len();
        if calibration.inputs.len() != convolutions {
            return Err(WeightsError::Metadata {
                path,
                message: format!(
                    "`{META_INT8}` has {} ranges for {convolutions} convolutions",
                    calibration.inputs.len()
                ),
            });
        }
        model.int8 = Some(calibration);
    }
    weights::load(&mut model.network, source)?;
    Ok(model)
}

fn join(scales: &[usize]) -> String {
    scales
        .iter()
        .map(|s| s.to_string())
        .collect::<Vec<_>>()
        .join(", ")
}

/// One line of `upres models`.
#[derive(Debug, Clone, PartialEq)]
pub struct ModelEntry {
    /// Registry name.
    pub name: &'static str,
    /// One-line description.
    pub description: &'static str,
    /// The paper that introduced it.
    pub paper: &'static str,
    /// Supported scales.
    pub scales: Vec<usize>,
    /// `(scale, trainable parameters)` for each supported scale.
    pub params: Vec<(usize, usize)>,
    /// Whether the model takes the low-resolution or the bicubic-upscaled image.
    pub input: InputKind,
    /// The channels it works on.
    pub color: ColorSpace,
}

/// Every registered model with its parameter count per scale.
pub fn entries() -> Result<Vec<ModelEntry>, ModelError> {
    let device = Device::flex();
    SPECS
        .iter()
        .map(|spec| {
            let params = spec
                .scales
                .iter()
                .map(|&scale| Ok((scale, build(spec.name, scale, &device)?.num_params())))
                .collect::<Result<Vec<_>, ModelError>>()?;
            Ok(ModelEntry {
                name: spec.name,
                description: spec.description,
                paper: spec.paper,
                scales: spec.scales.to_vec(),
                params,
                input: spec.input,
                color: spec.color,
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_name_and_scale_are_errors() {
        let device = Device::flex();
        let err = build("edsr-large", 2, &device).unwrap_err();
        assert!(err.to_string().contains("edsr-baseline"), "{err}");
        let err = build("rrdbnet", 3, &device).unwrap_err();
        assert!(err.to_string().contains("x3"), "{err}");
    }

    #[test]
    fn variants_build_only_where_they_belong() {
        let device = Device::flex();
        let variant = |text: &str| text.parse::<Variant>().unwrap();
        for (name, text) in [
            ("fsrcnn-y", "deconv=centred"),
            ("edsr-baseline", "blocks=2,upsampler=sub-pixel"),
            ("srvgg-compact", "features=8,network-scale=4"),
        ] {
            let model = build_variant(name, 4, variant(text), &device).unwrap();
            assert_eq!(model.label(), format!("{name} ({text})"));
        }
        for (name, text) in [
            ("edsr-baseline", "deconv=centred"),
            ("fsrcnn", "blocks=2"),
            ("espcn", "upsampler=sub-pixel"),
            ("rrdbnet", "network-scale=2"),
        ] {
            let err = build_variant(name, 4, variant(text), &device).unwrap_err();
            assert!(err.to_string().contains("variants"), "{name} {text}: {err}");
        }
    }

    #[test]
    fn forward_checks_the_input() {
        let device = Device::flex();
        let model = build("rrdbnet", 2, &device).unwrap();
        assert_eq!(model.input_multiple(), 2);
        let odd = Tensor::zeros([1, 3, 5, 4], &device);
        assert!(matches!(
            model.forward(odd),
            Err(ModelError::InvalidInput { .. })
        ));
        let gray = Tensor::zeros([1, 1, 4, 4], &device);
        assert!(model.forward(gray).is_err());
        let luma = build("espcn-y", 3, &device).unwrap();
        let y = luma.forward(Tensor::zeros([1, 1, 5, 4], &device)).unwrap();
        assert_eq!(y.dims(), [1, 1, 15, 12]);
        assert!(luma.forward(Tensor::zeros([1, 3, 5, 4], &device)).is_err());
        let srvgg = build("srvgg-compact", 3, &device).unwrap();
        let y = srvgg.forward(Tensor::zeros([1, 3, 5, 4], &device)).unwrap();
        assert_eq!(y.dims(), [1, 3, 15, 12]);
    }

    #[test]
    fn every_spec_builds_at_every_scale() {
        let entries = entries().unwrap();
        assert_eq!(entries.len(), specs().len());
        for entry in &entries {
            assert_eq!(entry.params.len(), entry.scales.len());
            assert!(entry.params.iter().all(|&(_, n)| n > 0), "{}", entry.name);
        }
    }
}
