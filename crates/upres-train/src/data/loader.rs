//! Batches of pairs, each a pure function of the seed and its iteration, prepared ahead on
//! worker threads.

use super::DataError;
use super::set::{Pair, TrainSet};
use rand::SeedableRng;
use rand::rngs::ChaCha8Rng;
use std::sync::Arc;
use std::sync::mpsc::{Receiver, sync_channel};
use std::thread::JoinHandle;
use upres_image::color::rgb_to_ycbcr;

/// LR and HR patches stacked as NCHW RGB (or luma, see [`Batch::to_luma`]) with samples in
/// `[0, 1]`.
#[derive(Clone, Debug, PartialEq)]
pub struct Batch {
    pub lr: Vec<f32>,
    pub hr: Vec<f32>,
    pub lr_shape: [usize; 4],
    pub hr_shape: [usize; 4],
}

impl Batch {
    /// Stacks pairs whose patches all have the same sizes.
    pub fn from_pairs(pairs: &[Pair]) -> Self {
        let shape = |image: &upres_image::Image| {
            [pairs.len(), image.channels(), image.height(), image.width()]
        };
        let (lr_shape, hr_shape) = match pairs.first() {
            Some(first) => (shape(&first.lr), shape(&first.hr)),
            None => ([0; 4], [0; 4]),
        };
        let mut lr = Vec::with_capacity(lr_shape.iter().product());
        let mut hr = Vec::with_capacity(hr_shape.iter().product());
        for pair in pairs {
            push_planes(&mut lr, &pair.lr);
            push_planes(&mut hr, &pair.hr);
        }
        Self {
            lr,
            hr,
            lr_shape,
            hr_shape,
        }
    }
}

impl Batch {
    /// The same patches as BT.601 luma (`Y / 255`, MATLAB's `rgb2ycbcr`), for models that
    /// work on the Y channel.
    pub fn to_luma(&self) -> Self {
        Self {
            lr: rgb_planes_to_luma(&self.lr, self.lr_shape),
            hr: rgb_planes_to_luma(&self.hr, self.hr_shape),
            lr_shape: luma_shape(self.lr_shape),
            hr_shape: luma_shape(self.hr_shape),
        }
    }
}

/// The shape of [`rgb_planes_to_luma`]'s result.
pub fn luma_shape([n, _, h, w]: [usize; 4]) -> [usize; 4] {
    [n, 1, h, w]
}

/// NCHW RGB planes in [0, 1] to NCHW luma planes on the same scale.
pub fn rgb_planes_to_luma(planes: &[f32], [_, c, h, w]: [usize; 4]) -> Vec<f32> {
    assert_eq!(c, 3, "luma is computed from RGB planes");
    let area = h * w;
    planes
        .chunks_exact(3 * area)
        .flat_map(|sample| {
            (0..area).map(move |p| {
                let rgb = [0, 1, 2].map(|ch| 255.0 * f64::from(sample[ch * area + p]));
                (rgb_to_ycbcr(rgb)[0] / 255.0) as f32
            })
        })
        .collect()
}

/// Appends `image` channel by channel, scaled from 0..=255 to 0..=1.
fn push_planes(out: &mut Vec<f32>, image: &upres_image::Image) {
    let c = image.channels();
    for channel in 0..c {
        out.extend(image.data()[channel..].iter().step_by(c).map(|v| v / 255.0));
    }
}

impl TrainSet {
    /// The batch of `iteration`: `size` pairs drawn from a generator keyed by `seed` and
    /// `iteration` alone.
    pub fn batch(&self, size: usize, seed: u64, iteration: u64) -> Result<Batch, DataError> {
        // Both numbers in the key give each iteration its own stream, so a run resumed at
        // any iteration redraws exactly what an uninterrupted run would have.
        let mut key = [0u8; 32];
        key[..8].copy_from_slice(&seed.to_le_bytes());
        key[8..16].copy_from_slice(&iteration.to_le_bytes());
        let mut rng = ChaCha8Rng::from_seed(key);
        let pairs = (0..size)
            .map(|_| self.sample(&mut rng))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Batch::from_pairs(&pairs))
    }
}

/// Batches ready ahead per worker: enough to hide a slow sample, few enough to bound memory.
const AHEAD: usize = 2;

/// The batches of iterations `start..`, in order, made by worker threads ahead of use.
///
/// Worker `w` of `n` makes the iterations `start + w + k n`, and the loader reads the workers
/// in turn, so the sequence is the same for any number of workers. Dropping the loader stops
/// the workers.
pub struct Loader {
    receivers: Vec<Receiver<Result<Batch, DataError>>>,
    workers: Vec<JoinHandle<()>>,
    start: u64,
    next: u64,
}

impl Loader {
    /// Starts `workers` threads (at least one) making batches of `batch_size` pairs.
    pub fn new(
        set: Arc<TrainSet>,
        batch_size: usize,
        seed: u64,
        start: u64,
        workers: usize,
    ) -> Self {
        let n = workers.max(1);
        let (receivers, workers) = (0..n)
            .map(|w| {
                let (tx, rx) = sync_channel(AHEAD);
                let set = Arc::clone(&set);
                let worker = std::thread::spawn(move || {
                    for iteration in (start + w as u64..).step_by(n) {
                        // The loader is gone when nobody receives.
                        if tx.send(set.batch(batch_size, seed, iteration)).is_err() {
                            break;
                        }
                    }
                });
                (rx, worker)
            })
            .unzip();
        Self {
            receivers,
            workers,
            start,
            next: start,
        }
    }

    /// The iteration whose batch comes next.
    pub fn iteration(&self) -> u64 {
        self.next
    }
}

impl Iterator for Loader {
    type Item = Result<Batch, DataError>;

    fn next(&mut self) -> Option<Self::Item> {
        let worker = ((self.next - self.start) % self.receivers.len() as u64) as usize;
        self.next += 1;
        // A worker only hangs up by panicking.
        Some(
            self.receivers[worker]
                .recv()
                .unwrap_or(Err(DataError::WorkerStopped)),
        )
    }
}

impl Drop for Loader {
    fn drop(&mut self) {
        // Hanging up first wakes workers blocked on a full channel.
        self.receivers.clear();
        for worker in self.workers.drain(..) {
            // A panicked worker shows up as `WorkerStopped` when its batch is read.
            let _ = worker.join();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::fixtures::folder;
    use crate::data::{ColorJitter, DataConfig};
    use upres_image::{Depth, Image, Layout};

    fn set() -> (tempfile::TempDir, Arc<TrainSet>) {
        let dir = folder(&[(40, 40), (36, 52), (64, 30)]);
        let mut c = DataConfig::new(vec![dir.path().to_path_buf()]);
        c.patch = 8;
        c.augment.color_jitter = Some(ColorJitter {
            brightness: [0.8, 1.2],
            contrast: [0.8, 1.2],
            saturation: [0.8, 1.2],
        });
        let set = Arc::new(TrainSet::open(&c, 2).unwrap());
        (dir, set)
    }

    #[test]
    fn batches_depend_only_on_seed_and_iteration() {
        let (_dir, set) = set();
        let direct: Vec<Batch> = (0..6).map(|i| set.batch(3, 7, i).unwrap()).collect();
        for workers in [1, 3] {
            let loader = Loader::new(Arc::clone(&set), 3, 7, 0, workers);
            let got: Vec<Batch> = loader.take(6).map(Result::unwrap).collect();
            assert_eq!(got, direct, "{workers} workers");
        }
        let mut resumed = Loader::new(Arc::clone(&set), 3, 7, 4, 2);
        assert_eq!(resumed.iteration(), 4);
        assert_eq!(resumed.next().unwrap().unwrap(), direct[4]);
        assert_eq!(resumed.next().unwrap().unwrap(), direct[5]);
        assert_eq!(resumed.iteration(), 6);
        assert_ne!(direct[0], direct[1]);
        assert_ne!(set.batch(3, 8, 0).unwrap(), direct[0]);

        let b = &direct[0];
        assert_eq!((b.lr_shape, b.hr_shape), ([3, 3, 8, 8], [3, 3, 16, 16]));
        assert_eq!((b.lr.len(), b.hr.len()), (3 * 3 * 64, 3 * 3 * 256));
        assert!(b.lr.iter().chain(&b.hr).all(|v| (0.0..=1.0).contains(v)));
    }

    #[test]
    fn dropping_the_loader_stops_its_workers() {
        let (_dir, set) = set();
        let mut loader = Loader::new(Arc::clone(&set), 2, 0, 0, 2);
        loader.next().unwrap().unwrap();
        drop(loader);
        assert_eq!(Arc::strong_count(&set), 1);
    }

    #[test]
    fn batches_are_planar_rgb_scaled_to_one() {
        let image = |w: usize, h: usize| {
            let data = (0..w * h * 3).map(|v| v as f32).collect();
            Image::new(w, h, Layout::Rgb, Depth::U8, data).unwrap()
        };
        let pair = Pair {
            lr: image(1, 2),
            hr: image(2, 4),
        };
        let batch = Batch::from_pairs(&[pair.clone(), pair]);
        assert_eq!(batch.lr_shape, [2, 3, 2, 1]);
        let lr: Vec<f32> = [0.0, 3.0, 1.0, 4.0, 2.0, 5.0]
            .iter()
            .map(|v| v / 255.0)
            .collect();
        assert_eq!(batch.lr, [lr.clone(), lr].concat());
        assert_eq!(batch.hr_shape, [2, 3, 4, 2]);
    }

    #[test]
    fn luma_is_matlab_rgb2ycbcr_y() {
        // Black, white, pure red and pure blue: Y = 16, 235, 16 + 65.481, 16 + 24.966.
        let rgb = [0.0, 1.0, 1.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0, 1.0, 0.0, 1.0];
        let batch = Batch {
            lr: rgb.to_vec(),
            hr: rgb.to_vec(),
            lr_shape: [1, 3, 2, 2],
            hr_shape: [1, 3, 2, 2],
        };
        let luma = batch.to_luma();
        assert_eq!(luma.lr_shape, [1, 1, 2, 2]);
        let expected = [16.0, 235.0, 81.481, 40.966];
        for (got, want) in luma.lr.iter().zip(expected) {
            assert!((got * 255.0 - want).abs() < 1e-3, "{got} vs {want}");
        }
    }
}
