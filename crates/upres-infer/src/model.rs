//! A registered network as an [`Upscaler`]: image layout in and out (gray, alpha, 16-bit) is
//! handled here, so every architecture sees what it was trained on, RGB or luma in [0, 1].

use burn::tensor::{Device, Tensor, TensorData};
use std::path::{Path, PathBuf};
use upres_image::color::{image_from_ycbcr, image_to_ycbcr};
use upres_image::resize::Filter;
use upres_image::{Image, Interpolation, Layout, UpscaleError, Upscaler};
use upres_models::{ColorSpace, CostOps, InputKind, SrModel};

use crate::fast::FastOps;
use crate::zoo;
use upres_kernels::{BORDER, FeatureMap};

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
    /// The fast CPU engine, used instead of burn when the model lives on the CPU.
    fast: Option<FastOps>,
}

impl ModelUpscaler {
    /// An upscaler running `model` on its device: on the CPU (`Device::flex()`) through the
    /// fast engine of [`crate::fast`], elsewhere through burn.
    pub fn new(model: SrModel, device: Device, alpha: AlphaMode) -> Self {
        let fast = (device == Device::flex()).then(|| FastOps::for_model(&model));
        Self {
            model,
            device,
            alpha,
            fast,
        }
    }

    /// An upscaler on the CPU through `fast`, an engine made for `model`.
    pub(crate) fn with_fast_ops(model: SrModel, fast: FastOps) -> Self {
        Self {
            model,
            device: Device::flex(),
            alpha: AlphaMode::Model,
            fast: Some(fast),
        }
    }

    /// The fast engine it ran on, if any (to read what a calibrating engine recorded).
    pub(crate) fn into_fast_ops(self) -> Option<FastOps> {
        self.fast
    }

    /// Runs the network through burn even on the CPU (the reference the fast engine is
    /// checked and measured against).
    pub fn with_burn_engine(mut self) -> Self {
        self.fast = None;
        self
    }

    pub fn model(&self) -> &SrModel {
        &self.model
    }

    /// Runs the network on an RGB image (any depth); returns RGB at the same depth, unclamped.
    fn run_rgb(&self, rgb: &Image) -> Result<Image, UpscaleError> {
        match self.model.color() {
            ColorSpace::Rgb => self.forward_image(&self.model_input(rgb)?),
            ColorSpace::Luma => self.run_luma(rgb),
        }
    }

    /// The image the network takes: SRCNN refines a bicubic upscale, made the way its
    /// training data was.
    fn model_input(&self, image: &Image) -> Result<Image, UpscaleError> {
        Ok(match self.model.input() {
            InputKind::LowResolution => image.clone(),
            InputKind::Upsampled => {
                Interpolation(Filter::Bicubic).upscale(image, self.model.scale())?
            }
        })
    }

    /// A luma model's way, as its paper evaluates it: the network upscales Y, bicubic
    /// interpolation upscales Cb and Cr.
    fn run_luma(&self, rgb: &Image) -> Result<Image, UpscaleError> {
        let upsampled = Interpolation(Filter::Bicubic).upscale(rgb, self.model.scale())?;
        let mut ycbcr = image_to_ycbcr(&upsampled);
        let source = match self.model.input() {
            InputKind::LowResolution => image_to_ycbcr(rgb),
            InputKind::Upsampled => ycbcr.clone(),
        };
        let luma = self.forward_image(&Image::new(
            source.width(),
            source.height(),
            Layout::Gray,
            source.depth(),
            source.data().chunks_exact(3).map(|px| px[0]).collect(),
        )?)?;
        if (luma.width(), luma.height()) != (ycbcr.width(), ycbcr.height()) {
            return Err(format!(
                "the network made {}x{} pixels, expected {}x{}",
                luma.width(),
                luma.height(),
                ycbcr.width(),
                ycbcr.height()
            )
            .into());
        }
        for (px, y) in ycbcr.data_mut().chunks_exact_mut(3).zip(luma.data()) {
            px[0] = *y;
        }
        Ok(image_from_ycbcr(&ycbcr))
    }

    /// Runs the network on a gray or RGB image scaled to [0, 1] by its depth; returns the
    /// same layout and depth, unclamped.
    fn forward_image(&self, input: &Image) -> Result<Image, UpscaleError> {
        // Networks that pixel-unshuffle their input (RRDBNet x2) take sides in multiples: the
        // edges are repeated that far and the output cropped back.
        let m = self.model.input_multiple();
        let (w, h) = (input.width(), input.height());
        if w % m != 0 || h % m != 0 {
            let padded = input.extend_edges(w.next_multiple_of(m), h.next_multiple_of(m));
            let out = self.forward_image(&padded)?;
            let s = out.width() / padded.width();
            return Ok(out.crop(0, 0, w * s, h * s)?);
        }
        let (w, h, c) = (input.width(), input.height(), input.channels());
        let max = input.depth().max_value();
        if let Some(fast) = &self.fast {
            let x = FeatureMap::from_interleaved(1, h, w, c, input.data(), 1.0 / max, BORDER);
            let y = self.model.run(fast, x.dims(), x)?;
            let (oh, ow) = (y.height(), y.width());
            return Ok(Image::new(
                ow,
                oh,
                input.layout(),
                input.depth(),
                y.to_interleaved(max),
            )?);
        }
        let y = self.model.forward(image_tensor(input, &self.device))?;
        let [_, _, oh, ow] = y.dims();
        let planar = y
            .into_data()
            .try_into_vec::<f32>()
            .map_err(|e| format!("reading the network's output: {e:?}"))?;
        let mut data = vec![0.0f32; c * ow * oh];
        for (p, px) in data.chunks_exact_mut(c).enumerate() {
            for (ch, v) in px.iter_mut().enumerate() {
                *v = planar[ch * ow * oh + p] * max;
            }
        }
        Ok(Image::new(ow, oh, input.layout(), input.depth(), data)?)
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
        self.model.label()
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
                let bicubic = Interpolation(Filter::Bicubic).upscale(&alpha, scale)?;
                let alpha = match self.alpha {
                    AlphaMode::Model => keep_uniform(self.run_gray(&alpha)?, &bicubic),
                    AlphaMode::Bicubic => bicubic,
                };
                Ok(color.with_alpha(&alpha)?)
            }
        }
    }

    fn tile_bytes(&self, side: usize, _scale: usize) -> Option<u64> {
        let side = self.model.input_side(side);
        let dims = [1, self.model.color().channels(), side, side];
        let cost = CostOps::default();
        self.model.run(&cost, dims, dims).ok()?;
        // A layer's input and output, a residual kept aside, and a recycled buffer.
        Some(4 * cost.largest_map() as u64 * size_of::<f32>() as u64)
    }

    fn fixed_scale(&self) -> Option<usize> {
        Some(self.model.scale())
    }

    fn receptive_radius(&self) -> Option<usize> {
        let network = self.model.receptive_radius()?;
        // Bicubic interpolation reaches two input pixels: it makes SRCNN's input and a luma
        // model's chroma.
        const BICUBIC: usize = 2;
        Some(match (self.model.input(), self.model.color()) {
            (InputKind::LowResolution, ColorSpace::Rgb) => network,
            (InputKind::LowResolution, ColorSpace::Luma) => network.max(BICUBIC),
            (InputKind::Upsampled, _) => network.div_ceil(self.model.scale()) + BICUBIC,
        })
    }
}

/// The network's alpha, except where bicubic interpolation says the neighbourhood is fully
/// transparent or fully opaque: there the exact value stays, so a network's ringing at an edge
/// (or at the zero-padded border) does not make transparent areas faintly opaque.
fn keep_uniform(mut model: Image, bicubic: &Image) -> Image {
    let max = bicubic.depth().max_value();
    for (m, &b) in model.data_mut().iter_mut().zip(bicubic.data()) {
        if b == 0.0 || b == max {
            *m = b;
        }
    }
    model
}

/// The weights a path names: an upres weights file, or a training run's folder (its
/// `best.safetensors`).
pub fn weights_file(path: &Path) -> Result<PathBuf, UpscaleError> {
    if !path.is_dir() {
        return Ok(path.to_path_buf());
    }
    let best = path.join("best.safetensors");
    if !best.is_file() {
        return Err(format!(
            "{} is a folder without best.safetensors: not a training run",
            path.display()
        )
        .into());
    }
    Ok(best)
}

/// The model at a path (see [`weights_file`]), built and loaded.
pub fn load_model(path: &Path, device: &Device) -> Result<SrModel, UpscaleError> {
    Ok(upres_models::load(&weights_file(path)?, device)?)
}

/// The trained model `name` stands for, if any: a built-in model of the [`zoo`], an upres
/// weights file, a training run's folder (see [`load_model`]), an ncnn `.param` file, or a
/// model imported into the [model directory](zoo::model_dir).
pub fn find_model(name: &str, device: &Device) -> Result<Option<SrModel>, UpscaleError> {
    if let Some(entry) = zoo::find(name) {
        return Ok(Some(entry.load(device)?));
    }
    let path = Path::new(name);
    if path.exists() {
        if path.extension().is_some_and(|e| e == "param") {
            return Ok(Some(upres_models::ncnn::load_ncnn(path, device)?));
        }
        return Ok(Some(load_model(path, device)?));
    }
    let imported = zoo::model_dir().map(|dir| dir.join(format!("{name}.upres")));
    if let Some(imported) = imported.filter(|p| p.is_file()) {
        return Ok(Some(load_model(&imported, device)?));
    }
    Ok(None)
}

/// What a `--model NAME` value names, before it is set up to run.
pub enum Method {
    Interpolation(Filter),
    Model(Box<SrModel>),
}

impl Method {
    /// The method on the CPU.
    pub fn into_upscaler(self, alpha: AlphaMode) -> Box<dyn Upscaler> {
        match self {
            Method::Interpolation(filter) => Box::new(Interpolation(filter)),
            Method::Model(model) => Box::new(ModelUpscaler::new(*model, Device::flex(), alpha)),
        }
    }
}

/// The method `--model NAME` stands for: an interpolation (`bicubic`, `bilinear`,
/// `lanczos3`, `nearest`), a built-in model of the [`zoo`], an upres weights file, or a
/// training run's folder (see [`load_model`]).
pub fn find_method(name: &str) -> Result<Method, UpscaleError> {
    if let Ok(filter) = name.parse::<Filter>() {
        return Ok(Method::Interpolation(filter));
    }
    if let Some(model) = find_model(name, &Device::flex())? {
        return Ok(Method::Model(Box::new(model)));
    }
    if upres_models::spec(name).is_ok() {
        return Err(format!(
            "'{name}' is an architecture, not trained weights: pass a weights file written by upres"
        )
        .into());
    }
    let built_in = zoo::ZOO
        .iter()
        .map(|m| m.name)
        .collect::<Vec<_>>()
        .join(", ");
    Err(format!(
        "unknown model '{name}': use bicubic, bilinear, lanczos3, nearest, a built-in model \
         ({built_in}), a weights file, or a model imported by `upres models import`"
    )
    .into())
}

/// [`find_method`], run on the CPU.
pub fn open_method(name: &str, alpha: AlphaMode) -> Result<Box<dyn Upscaler>, UpscaleError> {
    Ok(find_method(name)?.into_upscaler(alpha))
}

/// An image as a 1xCxHxW batch in [0, 1] (planar, scaled by its depth).
pub fn image_tensor(image: &Image, device: &Device) -> Tensor<4> {
    let (w, h, c) = (image.width(), image.height(), image.channels());
    let max = image.depth().max_value();
    let mut planar = vec![0.0f32; c * w * h];
    for (p, px) in image.data().chunks_exact(c).enumerate() {
        for (ch, v) in px.iter().enumerate() {
            planar[ch * w * h + p] = v / max;
        }
    }
    Tensor::from_data(TensorData::new(planar, [1, c, h, w]), device)
}

#[cfg(test)]
mod tests {
    use super::*;
    use upres_image::Depth;
    use upres_image::color::{LumaRounding, luma};

    #[test]
    fn odd_sides_reach_networks_that_take_even_ones() {
        // RRDBNet x2 pixel-unshuffles its input by 2.
        let device = Device::flex();
        let variant = upres_models::Variant {
            blocks: Some(0),
            features: Some(8),
            ..Default::default()
        };
        let model = upres_models::build_variant("rrdbnet", 2, variant, &device).unwrap();
        let upscaler = ModelUpscaler::new(model, device, AlphaMode::Model);
        let data = (0..7 * 5 * 3).map(|i| ((i * 37) % 256) as f32).collect();
        let image = Image::new(7, 5, Layout::Rgb, Depth::U8, data).unwrap();
        let out = upscaler.upscale(&image, 2).unwrap();
        assert_eq!((out.width(), out.height()), (14, 10));
        let padded = upscaler.upscale(&image.extend_edges(8, 6), 2).unwrap();
        assert_eq!(out, padded.crop(0, 0, 14, 10).unwrap());
    }

    #[test]
    fn luma_model_upscales_y_and_leaves_chroma_to_bicubic() {
        let device = Device::flex();
        let model = upres_models::build("espcn-y", 2, &device).unwrap();
        let (w, h) = (8, 6);
        let data = (0..w * h * 3)
            .map(|i| ((i * 37) % 256) as f32)
            .collect::<Vec<_>>();
        let image = Image::new(w, h, Layout::Rgb, Depth::U8, data).unwrap();

        let upscaler = ModelUpscaler::new(model.clone(), device.clone(), AlphaMode::Model);
        let up = image_to_ycbcr(&upscaler.upscale(&image, 2).unwrap());
        let bicubic = image_to_ycbcr(&Interpolation(Filter::Bicubic).upscale(&image, 2).unwrap());
        let y_in = luma(&image, LumaRounding::Exact)
            .iter()
            .map(|&y| (y / 255.0) as f32)
            .collect::<Vec<_>>();
        let y_net = model
            .forward(Tensor::from_data(
                TensorData::new(y_in, [1, 1, h, w]),
                &device,
            ))
            .unwrap()
            .into_data()
            .try_into_vec::<f32>()
            .unwrap();

        assert_eq!((up.width(), up.height()), (2 * w, 2 * h));
        for ((got, bicubic), y) in up
            .data()
            .chunks_exact(3)
            .zip(bicubic.data().chunks_exact(3))
            .zip(y_net)
        {
            assert!(
                (got[0] - 255.0 * y).abs() < 1e-2,
                "Y {} vs {}",
                got[0],
                255.0 * y
            );
            assert!((got[1] - bicubic[1]).abs() < 1e-2, "Cb");
            assert!((got[2] - bicubic[2]).abs() < 1e-2, "Cr");
        }
    }
}
