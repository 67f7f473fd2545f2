//! A registered network as an [`Upscaler`]: image layout in and out (gray, alpha, 16-bit) is
//! handled here, so every architecture sees what it was trained on, RGB in [0, 1].

use burn::tensor::{Device, Tensor, TensorData};
use std::path::Path;
use upres_image::resize::Filter;
use upres_image::{Image, Interpolation, Layout, UpscaleError, Upscaler};
use upres_models::{InputKind, SrModel};

/// How the alpha channel of an RGBA or gray+alpha image is upscaled.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AlphaMode {
    /// Through the network, as a gray image (sharp edges stay sharp).
    Model,
    /// MATLAB bicubic (cheaper; smooth masks).
    Bicubic,
}

/// A built network with weights, ready to upscale images.
pub struct ModelUpscaler {
    model: SrModel,
    device: Device,
    alpha: AlphaMode,
}

impl ModelUpscaler {
    pub fn new(model: SrModel, device: Device, alpha: AlphaMode) -> Self {
        Self {
            model,
            device,
            alpha,
        }
    }

    pub fn model(&self) -> &SrModel {
        &self.model
    }

    /// Runs the network on an RGB image (any depth); returns RGB at the same depth, unclamped.
    fn run_rgb(&self, rgb: &Image) -> Result<Image, UpscaleError> {
        let scale = self.model.scale();
        let input = match self.model.input() {
            InputKind::LowResolution => rgb.clone(),
            // SRCNN refines a bicubic upscale, made the way its training data was.
            InputKind::Upsampled => Interpolation(Filter::Bicubic).upscale(rgb, scale)?,
        };
        let (w, h) = (input.width(), input.height());
        let max = input.depth().max_value();
        // Interleaved HWC to planar CHW, in [0, 1].
        let mut planar = vec![0.0f32; 3 * w * h];
        for (p, px) in input.data().chunks_exact(3).enumerate() {
            for (c, v) in px.iter().enumerate() {
                planar[c * w * h + p] = v / max;
            }
        }
        let x = Tensor::<4>::from_data(TensorData::new(planar, [1, 3, h, w]), &self.device);
        let y = self.model.forward(x)?;
        let [_, _, oh, ow] = y.dims();
        let planar = y
            .into_data()
            .try_into_vec::<f32>()
            .map_err(|e| format!("reading the network's output: {e:?}"))?;
        let mut data = vec![0.0f32; 3 * ow * oh];
        for (p, px) in data.chunks_exact_mut(3).enumerate() {
            for (c, v) in px.iter_mut().enumerate() {
                *v = planar[c * ow * oh + p] * max;
            }
        }
        Ok(Image::new(ow, oh, Layout::Rgb, input.depth(), data)?)
    }

    /// A gray image through the RGB network: replicate, run, average the channels back.
    fn run_gray(&self, gray: &Image) -> Result<Image, UpscaleError> {
        let out = self.run_rgb(&gray.to_rgb())?;
        let data = out
            .data()
            .chunks_exact(3)
            .map(|px| (px[0] + px[1] + px[2]) / 3.0)
            .collect();
        Ok(Image::new(
            out.width(),
            out.height(),
            Layout::Gray,
            out.depth(),
            data,
        )?)
    }
}

impl Upscaler for ModelUpscaler {
    fn name(&self) -> String {
        self.model.name().to_string()
    }

    fn upscale(&self, low_res: &Image, scale: usize) -> Result<Image, UpscaleError> {
        if scale != self.model.scale() {
            return Err(format!(
                "{} was built for x{}, not x{scale}",
                self.model.name(),
                self.model.scale()
            )
            .into());
        }
        let (color, alpha) = low_res.split_alpha();
        let color = if color.layout().is_gray() {
            self.run_gray(&color)?
        } else {
            self.run_rgb(&color)?
        };
        match alpha {
            None => Ok(color),
            Some(alpha) => {
                let alpha = match self.alpha {
                    AlphaMode::Model => self.run_gray(&alpha)?,
                    AlphaMode::Bicubic => Interpolation(Filter::Bicubic).upscale(&alpha, scale)?,
                };
                Ok(color.with_alpha(&alpha)?)
            }
        }
    }

    fn receptive_radius(&self) -> Option<usize> {
        let network = self.model.receptive_radius()?;
        Some(match self.model.input() {
            InputKind::LowResolution => network,
            // The bicubic pre-upscale adds its own reach in input pixels.
            InputKind::Upsampled => network.div_ceil(self.model.scale()) + 2,
        })
    }
}

/// The weights a path names: an upres weights file, or a training run's folder (its
/// `best.safetensors`).
pub fn load_model(path: &Path, device: &Device) -> Result<SrModel, UpscaleError> {
    let file = if path.is_dir() {
        let best = path.join("best.safetensors");
        if !best.is_file() {
            return Err(format!(
                "{} is a folder without best.safetensors: not a training run",
                path.display()
            )
            .into());
        }
        best
    } else {
        path.to_path_buf()
    };
    Ok(upres_models::load(&file, device)?)
}

/// The method `--model NAME` stands for: an interpolation (`bicubic`, `bilinear`,
/// `lanczos3`, `nearest`), an upres weights file, or a training run's folder (see
/// [`load_model`]), run on the CPU.
pub fn open_method(name: &str, alpha: AlphaMode) -> Result<Box<dyn Upscaler>, UpscaleError> {
    if let Ok(filter) = name.parse::<Filter>() {
        return Ok(Box::new(Interpolation(filter)));
    }
    let path = Path::new(name);
    if path.exists() {
        let device = Device::flex();
        let model = load_model(path, &device)?;
        return Ok(Box::new(ModelUpscaler::new(model, device, alpha)));
    }
    if upres_models::spec(name).is_ok() {
        return Err(format!(
            "'{name}' is an architecture, not trained weights: pass a weights file written by upres"
        )
        .into());
    }
    Err(format!(
        "unknown model '{name}': use bicubic, bilinear, lanczos3, nearest or a weights file"
    )
    .into())
}
