//! Inference speed: the forward pass of a model on a random input, through the fast CPU
//! engine or through burn, for comparison with PyTorch (`tools/bench_infer.py`).

use std::time::{Duration, Instant};

use burn::tensor::{Device, Tensor, TensorData};
use upres_kernels::{BORDER, FeatureMap};
use upres_models::{CostOps, ModelError, SrModel};

use crate::fast::FastOps;

/// Which implementation runs the network.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Engine {
    /// upres's kernels (`upres-kernels`), the CPU default.
    Fast,
    /// upres's kernels with every convolution direct (no Winograd).
    Direct,
    /// upres's kernels with the convolutions of an INT8 model's calibration in 8 bits.
    Int8,
    /// burn on the model's device.
    Burn,
}

impl Engine {
    /// The engine's name in reports.
    pub fn name(self) -> &'static str {
        match self {
            Engine::Fast => "fast",
            Engine::Direct => "fast, direct convolutions only",
            Engine::Int8 => "fast, INT8",
            Engine::Burn => "burn",
        }
    }
}

/// The input a model takes for a `width x height` low-resolution image: `[1, C, H, W]`.
pub fn input_dims(model: &SrModel, width: usize, height: usize) -> [usize; 4] {
    let (w, h) = (model.input_side(width), model.input_side(height));
    [1, model.color().channels(), h, w]
}

/// Multiply-adds of one forward pass on `dims`.
pub fn multiply_adds(model: &SrModel, dims: [usize; 4]) -> Result<u64, ModelError> {
    let cost = CostOps::default();
    model.run(&cost, dims, dims)?;
    Ok(cost.multiply_adds())
}

/// One engine ready to time a model's forward pass on a fixed input.
pub struct ForwardTimer<'a> {
    model: &'a SrModel,
    engine: Engine,
    dims: [usize; 4],
    values: Vec<f32>,
    fast: FastOps,
}

impl<'a> ForwardTimer<'a> {
    /// A timer for `model` on `engine` and an input of `dims`; runs one untimed warm-up pass,
    /// which also packs the fast engine's weights. [`Engine::Int8`] takes a model with an
    /// INT8 calibration ([`SrModel::int8`]); [`Engine::Fast`] runs any model in `f32`.
    pub fn new(model: &'a SrModel, engine: Engine, dims: [usize; 4]) -> Result<Self, ModelError> {
        let fast = match engine {
            Engine::Direct => FastOps::direct_only(),
            Engine::Int8 if model.int8.is_none() => {
                return Err(ModelError::InvalidInput {
                    model: model.name(),
                    reason: "the INT8 engine needs a calibrated (quantized) model".into(),
                });
            }
            Engine::Int8 => FastOps::for_model(model),
            Engine::Fast | Engine::Burn => FastOps::new(),
        };
        let values = (0..dims.iter().product::<usize>())
            .map(|i| ((i * 7919) % 1000) as f32 / 1000.0)
            .collect();
        let timer = Self {
            model,
            engine,
            dims,
            values,
            fast,
        };
        timer.time()?;
        Ok(timer)
    }

    /// One forward pass, input conversion in and output values out.
    pub fn time(&self) -> Result<Duration, ModelError> {
        let [n, c, h, w] = self.dims;
        let start = Instant::now();
        match self.engine {
            Engine::Fast | Engine::Direct | Engine::Int8 => {
                let x = FeatureMap::from_nchw(n, c, h, w, &self.values, BORDER);
                std::hint::black_box(self.model.run(&self.fast, self.dims, x)?.to_nchw());
            }
            Engine::Burn => {
                let data = TensorData::new(self.values.clone(), self.dims);
                let x = Tensor::<4>::from_data(data, &Device::flex());
                std::hint::black_box(self.model.forward(x)?.into_data());
            }
        }
        Ok(start.elapsed())
    }
}

/// Times `runs` forward passes of one engine (see [`ForwardTimer`]).
pub fn forward_times(
    model: &SrModel,
    engine: Engine,
    dims: [usize; 4],
    runs: usize,
) -> Result<Vec<Duration>, ModelError> {
    let timer = ForwardTimer::new(model, engine, dims)?;
    (0..runs).map(|_| timer.time()).collect()
}
