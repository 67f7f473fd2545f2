//! Training-step throughput: the time of one full step (forward, L1 loss, backward, Adam) on
//! random data, for comparison with the same step in PyTorch (`tools/bench_train_step.py`).

use std::time::{Duration, Instant};

use burn::optim::AdamConfig;
use burn::tensor::{Device, Distribution, Tensor};

use crate::device::Precision;
use crate::error::TrainError;
use crate::loss::{L1, Loss};
use crate::trainer::optimize;

/// Times `steps` training steps of `name` at `scale` on `device` in `precision` on batches of
/// `batch` LR patches of `patch` pixels, after one untimed warm-up step. Each step ends by
/// reading the loss, so that a GPU's queued work is inside the time.
pub fn step_times(
    device: &Device,
    precision: Precision,
    name: &str,
    scale: usize,
    batch: usize,
    patch: usize,
    steps: usize,
) -> Result<Vec<Duration>, TrainError> {
    let device = device.clone().autodiff();
    let mut model = upres_models::build(name, scale, &device)?;
    let mut optimizer = AdamConfig::new().init();
    let side = model.input_side(patch);
    let channels = model.color().channels();
    let input = Tensor::<4>::random(
        [batch, channels, side, side],
        Distribution::Default,
        &device,
    );
    let target = Tensor::<4>::random(
        [batch, channels, patch * scale, patch * scale],
        Distribution::Default,
        &device,
    );
    let mut times = Vec::with_capacity(steps);
    for step in 0..=steps {
        let started = Instant::now();
        let output = precision.forward(&model.network, input.clone());
        let loss = L1.forward(output, target.clone());
        model = optimize(model, &mut optimizer, loss.clone(), 1e-4);
        loss.into_scalar::<f32>();
        if step > 0 {
            times.push(started.elapsed());
        }
    }
    Ok(times)
}
