//! The training loop: batches in, optimizer steps, periodic validation under the papers'
//! protocol, best and last checkpoints, logs, and exact resume.

use std::borrow::Cow;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

use burn::module::Module;
use burn::optim::decay::WeightDecayConfig;
use burn::optim::grad_clipping::GradientClippingConfig;
use burn::optim::{AdamConfig, GradientsParams, ModuleOptimizer};
use burn::tensor::{Device, Tensor, TensorData};
use upres_image::resize::Filter;
use upres_image::{Depth, Image, Interpolation, Layout, Upscaler};
use upres_infer::model::{AlphaMode, ModelUpscaler};
use upres_infer::perceptual::LpipsDistance;
use upres_metrics::{
    Channel, Dataset, DatasetScores, LowResSource, PerceptualDistance, evaluate_with,
};
use upres_models::perceptual::{LpipsNet, weights_dir};
use upres_models::{ColorSpace, InputKind, SrModel, SrNetwork};

use crate::checkpoint::{Checkpoint, Progress, TrainingState};
use crate::data::{Batch, Loader, TrainSet, luma_shape, rgb_planes_to_luma};
use crate::device::Precision;
use crate::error::TrainError;
use crate::gan::Adversary;
use crate::log::RunLog;
use crate::loss::{L1, Loss};
use crate::params::{Ema, with_path_ids};
use crate::recipe::Recipe;

/// A model whose outputs the student learns to match (knowledge distillation).
pub struct Teacher {
    /// The teacher, on the CPU backend (`Device::flex()`) whatever the training device.
    pub model: SrModel,
    /// Weight of the L1 distance between student and teacher outputs.
    pub weight: f32,
}

/// Everything a run needs besides its recipe.
pub struct RunOptions {
    /// Folder for checkpoints and logs.
    pub out: PathBuf,
    /// Continue the run saved in `out` instead of starting a new one.
    pub resume: bool,
    /// Start a new run from these weights (an upres weights file of the same model) instead
    /// of a random initialisation: fine-tuning.
    pub init: Option<PathBuf>,
    /// Optional distillation teacher.
    pub teacher: Option<Teacher>,
    /// Where a perceptual loss finds the ImageNet VGG16 weights (see
    /// [`upres_models::perceptual::weights_dir`] for the default).
    pub weights_dir: Option<PathBuf>,
    /// Set (by a Ctrl-C handler) to stop after the current step, saving a checkpoint first.
    pub stop: Arc<AtomicBool>,
    /// Where the model trains ([`crate::device::training_device`]); validation runs on the
    /// CPU engine.
    pub device: Device,
    /// What the training step computes in.
    pub precision: Precision,
}

/// What the loop reports as it goes (a progress bar, a log).
pub trait Observer {
    /// The run begins at `start` of `total` iterations.
    fn started(&mut self, _start: usize, _total: usize) {}
    /// `iteration` steps are done; `loss` is the last step's objective.
    fn stepped(&mut self, _iteration: usize, _loss: f32, _lr: f64) {}
    /// A validation finished.
    fn validated(&mut self, _iteration: usize, _scores: &[DatasetScores], _best: bool) {}
}

/// An observer that ignores everything.
pub struct Silent;

impl Observer for Silent {}

/// How a run ended.
#[derive(Debug, Clone)]
pub struct Outcome {
    /// Iterations completed (of the recipe's total).
    pub iterations: usize,
    /// Whether it stopped early on request.
    pub interrupted: bool,
    /// Best validation Y-PSNR on the first validation set, and its iteration.
    pub best: Option<(f64, usize)>,
}

/// Trains `recipe`'s model, writing checkpoints and logs under `options.out`.
pub fn train(
    recipe: &Recipe,
    options: RunOptions,
    observer: &mut dyn Observer,
) -> Result<Outcome, TrainError> {
    let scale = recipe.model.scale;
    let total = recipe.train.iterations;
    let plain = options.device.clone();
    let device = plain.clone().autodiff();
    let checkpoint = Checkpoint::new(&options.out);

    plain.seed(recipe.train.seed);
    device.seed(recipe.train.seed);
    let mut model = recipe.model.build(&device)?.map_network(with_path_ids);
    let multiple = model.input_multiple();
    if !recipe.data.patch.is_multiple_of(multiple) {
        return Err(upres_models::ModelError::InvalidConfig {
            arch: model.name(),
            reason: format!(
                "it takes sides in multiples of {multiple}, and data.patch is {}",
                recipe.data.patch
            ),
        }
        .into());
    }
    let mut optimizer = adam(recipe);
    let mut ema = recipe
        .train
        .ema
        .map(|decay| Ema::new(decay, &model.network));
    let mut progress = Progress::default();

    if options.resume {
        checkpoint.check_recipe(recipe)?;
        progress = checkpoint.load_progress()?;
        model.load_safetensors(&checkpoint.state_model())?;
        model = model.map_network(with_path_ids);
        optimizer =
            optimizer
                .load(checkpoint.state_optimizer())
                .map_err(|e| TrainError::Checkpoint {
                    path: checkpoint.state_optimizer(),
                    message: e.to_string(),
                })?;
        if let Some(decay) = recipe.train.ema {
            let mut shadow = recipe.model.build(&plain)?;
            shadow.load_safetensors(&checkpoint.state_ema())?;
            ema = Some(Ema::resume(decay, with_path_ids(shadow.network)));
        }
    } else {
        if let Some(init) = &options.init {
            model.load_init(init)?;
            model = model.map_network(with_path_ids);
            ema = recipe
                .train
                .ema
                .map(|decay| Ema::new(decay, &model.network));
        }
        checkpoint.start(recipe)?;
    }
    if let Some(teacher) = &options.teacher {
        check_teacher(teacher, &model)?;
    }

    let mut log = RunLog::open(&options.out, progress.iteration)?;
    let validation_sets = recipe
        .validation
        .data
        .iter()
        .map(|dir| Dataset::open(dir))
        .collect::<Result<Vec<_>, _>>()?;
    let train_set = Arc::new(TrainSet::open(&recipe.data, scale)?);
    let mut loader = Loader::new(
        train_set,
        recipe.train.batch,
        recipe.train.seed,
        progress.iteration as u64,
        recipe.data.workers,
    );
    let objective = recipe
        .loss
        .init(&weights_dir(options.weights_dir.as_deref()), &device)?;
    // PSNR falls as an adversarial run makes outputs sharper: LPIPS ranks its checkpoints.
    let lpips = match recipe.gan {
        Some(_) => Some(LpipsDistance::load(
            LpipsNet::Alex,
            &weights_dir(options.weights_dir.as_deref()),
        )?),
        None => None,
    };
    let mut adversary = match &recipe.gan {
        Some(section) => {
            let adversary = Adversary::new(
                section,
                model.color().channels(),
                recipe.data.patch * scale,
                adam(recipe),
                &device,
            )?;
            Some(if options.resume {
                adversary.resume(&checkpoint.state())?
            } else {
                adversary
            })
        }
        None => None,
    };

    observer.started(progress.iteration, total);
    let started = Instant::now();
    let elapsed_before = progress.elapsed;
    let mut interrupted = false;
    let mut losses = PendingLosses::default();
    while progress.iteration < total {
        let rgb_batch = loader.next().expect("the loader never ends")?;
        let batch = in_color(&rgb_batch, model.color());
        let lr = recipe
            .schedule
            .rate(recipe.optimizer.lr, progress.iteration, total);
        let input = input_tensor(&batch, &model, &device);
        let target = Tensor::from_data(TensorData::new(batch.hr.clone(), batch.hr_shape), &device);
        let output = options.precision.forward(&model.network, input);
        let mut loss = objective.forward(output.clone(), target.clone());
        if let Some(teacher) = &options.teacher {
            let guide = teacher_output(teacher, &rgb_batch, model.color(), &device)?;
            loss = loss + L1.forward(output.clone(), guide).mul_scalar(teacher.weight);
        }
        if let Some(adversary) = &adversary {
            loss = loss + adversary.generator_loss(output.clone(), target.clone())?;
        }
        losses.push(progress.iteration + 1, lr, loss.clone());
        model = optimize(model, &mut optimizer, loss, lr);
        if let Some(adversary) = &mut adversary {
            adversary.step(output, target, lr, recipe.optimizer.lr)?;
        }
        if let Some(ema) = &mut ema {
            ema.update(&model.network);
        }
        progress.iteration += 1;

        let due = progress.iteration.is_multiple_of(recipe.validation.every)
            || progress.iteration == total;
        let mut report = |losses: &mut PendingLosses, observer: &mut dyn Observer| {
            let seconds = elapsed_before + started.elapsed().as_secs_f64();
            for (iteration, lr, value) in losses.read()? {
                log.step(iteration, value, lr, seconds, recipe.train.log_every)?;
                observer.stepped(iteration, value, lr);
            }
            Ok::<_, TrainError>(())
        };
        if due
            || options.stop.load(Ordering::Relaxed)
            || progress.iteration.is_multiple_of(PendingLosses::EVERY)
            || progress
                .iteration
                .is_multiple_of(recipe.train.log_every.max(1))
        {
            report(&mut losses, observer)?;
        }
        // Read after the report, where an observer may ask to stop.
        interrupted = options.stop.load(Ordering::Relaxed);
        if due || interrupted {
            // Also what a stop asked for since: no unread (perhaps diverged) step is saved.
            report(&mut losses, observer)?;
            let evaluated = evaluated_model(&model, ema.as_ref());
            let scores = validate(&evaluated, &validation_sets, lpips.as_ref())?;
            let best = progress.record(progress.iteration, scores.first());
            log.validation(progress.iteration, &scores)?;
            progress.elapsed = elapsed_before + started.elapsed().as_secs_f64();
            checkpoint.save(
                &TrainingState {
                    model: &model,
                    optimizer: &optimizer,
                    ema: ema.as_ref().map(Ema::model),
                    evaluated: &evaluated,
                    adversary: adversary.as_ref(),
                },
                &progress,
                best,
            )?;
            log.plot()?;
            observer.validated(progress.iteration, &scores, best);
        }
        if interrupted {
            break;
        }
    }
    Ok(Outcome {
        iterations: progress.iteration,
        interrupted,
        best: progress.best(),
    })
}

/// Each step's loss, left on the device until several are read at once: reading a value waits
/// for the device to finish its queued work, and a GPU made to wait every step idles while the
/// next step is built.
#[derive(Default)]
struct PendingLosses(Vec<(usize, f64, Tensor<1>)>);

impl PendingLosses {
    /// Steps between reads (the progress bar's loss moves every 10), unless a log row, a
    /// validation or a stop comes first.
    const EVERY: usize = 10;

    fn push(&mut self, iteration: usize, lr: f64, loss: Tensor<1>) {
        self.0.push((iteration, lr, loss.detach()));
    }

    /// `(iteration, learning rate, loss)` of each pending step, oldest first; the first
    /// non-finite loss is an error.
    fn read(&mut self) -> Result<Vec<(usize, f64, f32)>, TrainError> {
        if self.0.is_empty() {
            return Ok(Vec::new());
        }
        let (steps, tensors): (Vec<_>, Vec<_>) = self
            .0
            .drain(..)
            .map(|(iteration, lr, loss)| ((iteration, lr), loss))
            .unzip();
        let values = upres_models::layer_values(Tensor::cat(tensors, 0));
        steps
            .into_iter()
            .zip(values)
            .map(|((iteration, lr), value)| match value.is_finite() {
                true => Ok((iteration, lr, value)),
                false => Err(TrainError::Diverged { iteration, value }),
            })
            .collect()
    }
}

/// Back-propagates `loss` and takes one optimizer step at rate `lr`.
pub(crate) fn optimize(
    model: SrModel,
    optimizer: &mut ModuleOptimizer,
    loss: Tensor<1>,
    lr: f64,
) -> SrModel {
    let grads = GradientsParams::from_grads(loss.backward(), &model.network);
    model.map_network(|network| optimizer.step(lr, network, grads))
}

fn adam(recipe: &Recipe) -> ModuleOptimizer {
    let o = &recipe.optimizer;
    AdamConfig::new()
        .with_beta_1(o.betas[0])
        .with_beta_2(o.betas[1])
        .with_epsilon(o.eps)
        .with_weight_decay((o.weight_decay > 0.0).then(|| WeightDecayConfig::new(o.weight_decay)))
        .with_grad_clipping(o.grad_clip.map(GradientClippingConfig::Norm))
        .init()
}

/// The weights to evaluate and ship: the moving average when there is one.
fn evaluated_model(model: &SrModel, ema: Option<&Ema<SrNetwork>>) -> SrModel {
    match ema {
        Some(ema) => model.clone().map_network(|_| ema.model().clone()),
        None => model.clone().map_network(|network| network.valid()),
    }
}

fn validate(
    model: &SrModel,
    sets: &[Dataset],
    perceptual: Option<&LpipsDistance>,
) -> Result<Vec<DatasetScores>, TrainError> {
    let upscaler = ModelUpscaler::new(model.clone(), Device::flex(), AlphaMode::Model);
    sets.iter()
        .map(|set| {
            Ok(evaluate_with(
                &upscaler,
                set,
                model.scale(),
                LowResSource::Bicubic,
                Channel::Y,
                perceptual.map(|p| p as &dyn PerceptualDistance),
            )?)
        })
        .collect()
}

/// The RGB batch in the channels a model works on.
fn in_color(rgb: &Batch, color: ColorSpace) -> Cow<'_, Batch> {
    match color {
        ColorSpace::Rgb => Cow::Borrowed(rgb),
        ColorSpace::Luma => Cow::Owned(rgb.to_luma()),
    }
}

/// The batch as `model`'s input; SRCNN gets its LR patches bicubic-upscaled.
fn input_tensor(batch: &Batch, model: &SrModel, device: &Device) -> Tensor<4> {
    match model.input() {
        InputKind::LowResolution => {
            Tensor::from_data(TensorData::new(batch.lr.clone(), batch.lr_shape), device)
        }
        InputKind::Upsampled => Tensor::from_data(
            TensorData::new(upsample(batch, model.scale()), batch.hr_shape),
            device,
        ),
    }
}

/// Bicubic-upscales every LR patch of `batch` (planar NCHW in [0, 1]) by `scale`.
fn upsample(batch: &Batch, scale: usize) -> Vec<f32> {
    let [n, c, h, w] = batch.lr_shape;
    let mut out = Vec::with_capacity(n * c * h * w * scale * scale);
    for sample in batch.lr.chunks_exact(c * h * w) {
        let interleaved = (0..h * w)
            .flat_map(|p| (0..c).map(move |ch| sample[ch * h * w + p] * 255.0))
            .collect();
        let layout = if c == 1 { Layout::Gray } else { Layout::Rgb };
        let image = Image::new(w, h, layout, Depth::U8, interleaved)
            .expect("a batch sample is a whole gray or RGB patch");
        let up = Interpolation(Filter::Bicubic)
            .upscale(&image, scale)
            .expect("bicubic upscaling of a valid patch cannot fail");
        let (uw, uh) = (up.width(), up.height());
        for ch in 0..c {
            out.extend((0..uw * uh).map(|p| up.data()[p * c + ch] / 255.0));
        }
    }
    out
}

fn check_teacher(teacher: &Teacher, student: &SrModel) -> Result<(), TrainError> {
    if (teacher.model.color(), student.color()) == (ColorSpace::Luma, ColorSpace::Rgb) {
        return Err(TrainError::Teacher {
            name: teacher.model.name().into(),
            message: "it upscales luma only, the student RGB".into(),
        });
    }
    if teacher.model.scale() != student.scale() {
        return Err(TrainError::Teacher {
            name: teacher.model.name().into(),
            message: format!(
                "it upscales x{}, the student x{}",
                teacher.model.scale(),
                student.scale()
            ),
        });
    }
    Ok(())
}

/// The teacher's output for the RGB batch, in the student's channels, as a constant on the
/// training device.
fn teacher_output(
    teacher: &Teacher,
    rgb_batch: &Batch,
    student: ColorSpace,
    device: &Device,
) -> Result<Tensor<4>, TrainError> {
    let batch = in_color(rgb_batch, teacher.model.color());
    let output = teacher
        .model
        .forward(input_tensor(&batch, &teacher.model, &Device::flex()))
        .map_err(|e| TrainError::Teacher {
            name: teacher.model.name().into(),
            message: e.to_string(),
        })?;
    let output = match (teacher.model.color(), student) {
        (ColorSpace::Rgb, ColorSpace::Luma) => {
            let shape = output.dims();
            let planes = output
                .into_data()
                .try_into_vec::<f32>()
                .expect("a network's output is f32");
            TensorData::new(rgb_planes_to_luma(&planes, shape), luma_shape(shape))
        }
        _ => output.into_data(),
    };
    Ok(Tensor::from_data(output, device))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pending_losses_are_read_in_order_and_stop_at_a_non_finite_one() {
        let device = Device::flex();
        let mut losses = PendingLosses::default();
        for (iteration, value) in [(1, 0.5), (2, 0.25)] {
            losses.push(iteration, 1e-3, Tensor::from_floats([value], &device));
        }
        assert_eq!(losses.read().unwrap(), [(1, 1e-3, 0.5), (2, 1e-3, 0.25)]);
        assert!(losses.read().unwrap().is_empty());
        for (iteration, value) in [(3, 0.1), (4, f32::NAN), (5, f32::INFINITY)] {
            losses.push(iteration, 1e-3, Tensor::from_floats([value], &device));
        }
        let err = losses.read().unwrap_err();
        assert!(
            matches!(err, TrainError::Diverged { iteration: 4, .. }),
            "{err}"
        );
    }
}
