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

/// The input a model takes for a `side x side` low-resolution image: `[1, C, H, W]`.
pub fn input_dims(model: &SrModel, side: usize) -> [usize; 4] {
    let side = model.input_side(side);
    [1, model.color().channels(), side, side]
}

/// Multiply-adds of one forward pass on `dims`.
pub fn multiply_adds(model: &SrModel, dims: [usize; 4]) -> Result<u64, ModelError> {
    let cost = CostOps::default();
    model.run(&cost, dims, dims)?;
    Ok(cost.multiply_adds())
}

/// Times `runs` forward passes (input conversion in, output values out) after one untimed
/// warm-up pass, which also packs the fast engine's weights. [`Engine::Int8`] takes a model
/// with an INT8 calibration ([`SrModel::int8`]); [`Engine::Fast`] runs any model in `f32`.
pub fn forward_times(
    model: &SrModel,
    engine: Engine,
    dims: [usize; 4],
    runs: usize,
) -> Result<Vec<Duration>, ModelError> {
    let values: Vec<f32> = (0..dims.iter().product::<usize>())
        .map(|i| ((i * 7919) % 1000) as f32 / 1000.0)
        .collect();
    let [n, c, h, w] = dims;
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
    let device = Device::flex();
    let once = || -> Result<Duration, ModelError> {
        let start = Instant::now();
        match engine {
            Engine::Fast | Engine::Direct | Engine::Int8 => {
                let x = FeatureMap::from_nchw(n, c, h, w, &values, BORDER);
                std::hint::black_box(model.run(&fast, dims, x)?.to_nchw());
            }
            Engine::Burn => {
                let x = Tensor::<4>::from_data(TensorData::new(values.clone(), dims), &device);
                std::hint::black_box(model.forward(x)?.into_data());
            }
        }
        Ok(start.elapsed())
    };
    once()?;
    (0..runs).map(|_| once()).collect()
}
