//! FSRCNN: "Accelerating the Super-Resolution Convolutional Neural Network",
//! ECCV 2016, <https://arxiv.org/abs/1608.00367>.
//!
//! Works on the low-resolution image directly: feature extraction (5x5, `d` filters), shrinking
//! (1x1, `s` filters), `m` mapping layers (3x3, `s` filters), expanding (1x1, `d` filters), each
//! followed by a per-channel PReLU, then a 9x9 transposed convolution with stride `scale` whose
//! output is exactly `scale` times larger.
//!
//! The transposed convolution's padding places its kernel. The widely used PyTorch port
//! FSRCNN-pytorch pads 4 with output padding `scale - 1`, which centres the kernel on output
//! pixel `scale * i`; but the output pixels that low-resolution pixel `i` covers are centred at
//! `scale * i + (scale - 1) / 2` (MATLAB's `imresize` geometry). At x3 the kernel then sits one
//! output pixel off, and one of the three output phases gets a far neighbour on one side
//! instead of a near one on the other. `centred` pads `4 - (scale - 1) / 2` instead (3 at x3
//! and x4, 4 at x2), which puts the kernel on that centre, or half a pixel from it at even
//! scales.
//!
//! Arguments ([`FsrcnnConfig`]): `scale`, `num_channels` (3 for RGB, 1 for the paper's Y
//! channel), `d`, `s`, `m` (paper: 56, 12, 4), `centred` (default: the port's layout).
//!
//! PyTorch keys: `first_part.0` (conv) / `first_part.1` (PReLU), `mid_part.{2i}` /
//! `mid_part.{2i+1}` for shrink, mapping and expand, `last_part` (transposed conv).

use burn::config::Config;
use burn::module::Module;
use burn::nn::conv::{ConvTranspose2d, ConvTranspose2dConfig};
use burn::tensor::Device;
use burn::tensor::ops::PadMode;

use super::common::ConvPRelu;
use crate::error::ModelError;
use crate::ops::SrOps;
use crate::weights::{PytorchKeys, torch_leaf};

/// FSRCNN hyper-parameters (paper defaults: d=56, s=12, m=4).
#[derive(Config, Debug)]
pub struct FsrcnnConfig {
    /// Upscaling factor (stride of the transposed convolution).
    pub scale: usize,
    /// Image channels (3 for RGB, 1 for luma only).
    #[config(default = 3)]
    pub num_channels: usize,
    /// Feature dimension `d`.
    #[config(default = 56)]
    pub d: usize,
    /// Shrunk dimension `s`.
    #[config(default = 12)]
    pub s: usize,
    /// Number of mapping layers `m`.
    #[config(default = 4)]
    pub m: usize,
    /// Centre the transposed convolution's kernel on the output pixels each input pixel
    /// covers, instead of the PyTorch port's layout (module docs).
    #[config(default = false)]
    pub centred: bool,
}

impl FsrcnnConfig {
    /// Builds the network.
    pub fn init(&self, device: &Device) -> Result<Fsrcnn, ModelError> {
        if self.scale < 2 {
            return Err(ModelError::UnsupportedScale {
                arch: "fsrcnn",
                scale: self.scale,
                supported: "any integer >= 2".into(),
            });
        }
        let (padding, padding_out) = deconv_padding(self.scale, self.centred)?;
        Ok(Fsrcnn {
            feature: ConvPRelu::new(self.num_channels, self.d, 5, device),
            shrink: ConvPRelu::new(self.d, self.s, 1, device),
            mapping: (0..self.m)
                .map(|_| ConvPRelu::new(self.s, self.s, 3, device))
                .collect(),
            expand: ConvPRelu::new(self.s, self.d, 1, device),
            deconv: ConvTranspose2dConfig::new([self.d, self.num_channels], [9, 9])
                .with_stride([self.scale, self.scale])
                .with_padding([padding, padding])
                .with_padding_out([padding_out, padding_out])
                .init(device),
        })
    }
}

/// The transposed convolution's padding and output padding for a layout. The output is
/// `scale * (h - 1) + 9 - 2 * padding + padding_out`, which must be `scale * h` with
/// `padding_out < scale`.
fn deconv_padding(scale: usize, centred: bool) -> Result<(usize, usize), ModelError> {
    match centred {
        false => Ok((4, scale - 1)),
        true if scale <= 10 => {
            let padding = 4 - (scale - 1) / 2;
            Ok((padding, 2 * padding + scale - 9))
        }
        true => Err(ModelError::UnsupportedScale {
            arch: "fsrcnn (centred)",
            scale,
            supported: "2 to 10".into(),
        }),
    }
}

/// FSRCNN.
#[derive(Module, Debug)]
pub struct Fsrcnn {
    /// Feature extraction (5x5).
    pub feature: ConvPRelu,
    /// Shrinking (1x1).
    pub shrink: ConvPRelu,
    /// Mapping (3x3, `m` layers).
    pub mapping: Vec<ConvPRelu>,
    /// Expanding (1x1).
    pub expand: ConvPRelu,
    /// Deconvolution (9x9, stride `scale`).
    pub deconv: ConvTranspose2d,
}

impl Fsrcnn {
    /// Upscales `[N, C, H, W]` to `[N, C, H * scale, W * scale]`.
    pub fn run<O: SrOps>(&self, ops: &O, x: O::Tensor) -> O::Tensor {
        let x = self.shrink.run(ops, self.feature.run(ops, x));
        let x = self.mapping.iter().fold(x, |x, layer| layer.run(ops, x));
        ops.conv_transpose2d(&self.deconv, self.expand.run(ops, x))
    }

    /// The same network in the other transposed-convolution layout
    /// ([`FsrcnnConfig::centred`]): the kernel moves so that each tap still reaches the same
    /// output pixel. Taps moved past the kernel's edge are dropped (one row and column at x3),
    /// and those it gains on the other side start at zero, so fine-tuning should follow.
    pub fn relaid(mut self, centred: bool) -> Result<Fsrcnn, ModelError> {
        let scale = self.deconv.stride[0];
        let (padding, padding_out) = deconv_padding(scale, centred)?;
        // Tap `tap` of input pixel `i` reaches output pixel `scale * i + tap - padding`: each
        // tap moves by the change in padding to keep reaching it.
        let shift = padding as isize - self.deconv.padding[0] as isize;
        let (dropped, gained) = ((-shift).max(0) as usize, shift.max(0) as usize);
        self.deconv.weight = self.deconv.weight.map(|weight| {
            let [c_in, c_out, kernel, _] = weight.dims();
            let kept = dropped..kernel - gained;
            weight.slice([0..c_in, 0..c_out, kept.clone(), kept]).pad(
                [(gained, dropped), (gained, dropped)],
                PadMode::Constant(0.0),
            )
        });
        self.deconv.padding = [padding, padding];
        self.deconv.padding_out = [padding_out, padding_out];
        Ok(self)
    }
}

impl PytorchKeys for Fsrcnn {
    fn pytorch_key(&self, param: &str) -> Option<String> {
        let segs: Vec<&str> = param.split('.').collect();
        let m = self.mapping.len();
        let (prefix, layer, part, leaf) = match segs.as_slice() {
            ["deconv", leaf] => return Some(format!("last_part.{leaf}")),
            ["feature", part, leaf] => ("first_part", 0, *part, *leaf),
            ["shrink", part, leaf] => ("mid_part", 0, *part, *leaf),
            ["mapping", i, part, leaf] => {
                ("mid_part", 2 + 2 * i.parse::<usize>().ok()?, *part, *leaf)
            }
            ["expand", part, leaf] => ("mid_part", 2 + 2 * m, *part, *leaf),
            _ => return None,
        };
        let index = match part {
            "conv" => layer,
            "act" => layer + 1,
            _ => return None,
        };
        Some(format!("{prefix}.{index}.{}", torch_leaf(leaf)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ops::{BurnOps, layer_values};
    use burn::module::Param;
    use burn::tensor::{Distribution, Tensor, TensorData};

    #[test]
    fn output_shape_per_scale() {
        let device = Device::flex();
        for scale in [2, 3, 4, 8] {
            for centred in [false, true] {
                let model = FsrcnnConfig::new(scale)
                    .with_centred(centred)
                    .init(&device)
                    .unwrap();
                let y = model.run(&BurnOps, Tensor::zeros([1, 3, 5, 4], &device));
                assert_eq!(y.dims(), [1, 3, 5 * scale, 4 * scale]);
            }
        }
        assert!(FsrcnnConfig::new(1).init(&device).is_err());
        assert!(
            FsrcnnConfig::new(11)
                .with_centred(true)
                .init(&device)
                .is_err()
        );
    }

    /// Where the kernel's centre tap of input pixel `i` lands, against the centre of the
    /// output pixels it covers, `scale * i + (scale - 1) / 2`.
    fn kernel_centre_offset(scale: usize, centred: bool) -> f32 {
        let device = Device::flex();
        let mut model = FsrcnnConfig::new(scale)
            .with_num_channels(1)
            .with_centred(centred)
            .init(&device)
            .unwrap();
        let mut tap = vec![0.0f32; 56 * 81];
        tap[4 * 9 + 4] = 1.0;
        let weight = Tensor::<4>::from_data(TensorData::new(tap, [56, 1, 9, 9]), &device);
        model.deconv.weight = Param::from_tensor(weight);
        model.deconv.bias = None;
        let (size, i) = (7, 3);
        let mut pixel = vec![0.0f32; 56 * size * size];
        pixel[i * size + i] = 1.0;
        let x = Tensor::<4>::from_data(TensorData::new(pixel, [1, 56, size, size]), &device);
        let y = BurnOps.conv_transpose2d(&model.deconv, x);
        let values = layer_values(y);
        let width = size * scale;
        let hit = values.iter().position(|&v| v == 1.0).unwrap();
        let (row, col) = (hit / width, hit % width);
        assert_eq!(row, col);
        row as f32 - (scale * i) as f32 - (scale as f32 - 1.0) / 2.0
    }

    #[test]
    fn centred_kernel_lands_on_the_covered_pixels() {
        for scale in [2, 3, 4, 8] {
            assert!(kernel_centre_offset(scale, true).abs() <= 0.5, "x{scale}");
        }
        // The port's layout: one output pixel off at x3, one and a half at x4.
        assert_eq!(kernel_centre_offset(3, false), -1.0);
        assert_eq!(kernel_centre_offset(4, false), -1.5);
    }

    #[test]
    fn relaid_network_computes_the_same_function() {
        let device = Device::flex();
        for scale in [2, 3, 4, 8] {
            let mut model = FsrcnnConfig::new(scale)
                .with_num_channels(1)
                .init(&device)
                .unwrap();
            // The taps that fall off the kernel's top and left edge when it is centred.
            let dropped = (scale - 1) / 2;
            let keep = Tensor::<4>::ones([56, 1, 9 - dropped, 9 - dropped], &device)
                .pad([(dropped, 0), (dropped, 0)], PadMode::Constant(0.0));
            model.deconv.weight = Param::from_tensor(model.deconv.weight.val() * keep);
            let x = Tensor::<4>::random([1, 1, 6, 7], Distribution::Default, &device);
            let port = model.run(&BurnOps, x.clone());
            let centred = model.relaid(true).unwrap();
            assert_eq!(centred.deconv.padding, [4 - dropped; 2], "x{scale}");
            let moved = centred.run(&BurnOps, x.clone());
            let back = centred.relaid(false).unwrap().run(&BurnOps, x);
            for y in [moved, back] {
                let diff: f32 = (y - port.clone()).abs().max().into_scalar();
                assert!(diff < 1e-5, "x{scale}: {diff}");
            }
        }
    }

    #[test]
    fn pytorch_keys() {
        let model = FsrcnnConfig::new(2).init(&Device::flex()).unwrap();
        assert_eq!(
            model.pytorch_key("feature.act.alpha").unwrap(),
            "first_part.1.weight"
        );
        assert_eq!(
            model.pytorch_key("mapping.3.conv.bias").unwrap(),
            "mid_part.8.bias"
        );
        assert_eq!(
            model.pytorch_key("expand.act.alpha").unwrap(),
            "mid_part.11.weight"
        );
        assert_eq!(
            model.pytorch_key("deconv.weight").unwrap(),
            "last_part.weight"
        );
    }
}
