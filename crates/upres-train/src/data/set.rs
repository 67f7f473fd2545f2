//! A training set: decoded images (in memory while they fit) and random patch pairs cut
//! from them.

use super::DataError;
use super::config::{Augment, DataConfig, Sampling};
use super::folder::{LrFolder, list_images};
use rand::rngs::ChaCha8Rng;
use rand::{Rng, RngExt, SeedableRng};
use rayon::prelude::*;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use upres_image::degrade::Pipeline;
use upres_image::resize::{Filter, ResizeOptions, Target, downscale_bicubic, resize};
use upres_image::{Depth, Image, Layout, io};

/// A training pair: RGB patches with samples on the 0..=255 scale, the HR patch `scale`
/// times the LR patch on a side.
#[derive(Clone, Debug, PartialEq)]
pub struct Pair {
    pub lr: Image,
    pub hr: Image,
}

/// RGB pixels as the integers they were decoded from: bytes for 8-bit images (a quarter of
/// the memory of `f32` samples), 16-bit words for 16-bit ones (medical and remote-sensing
/// data keep their precision: nothing is rounded to 8 bits).
struct StoredRgb {
    width: usize,
    height: usize,
    samples: Samples,
}

enum Samples {
    U8(Vec<u8>),
    U16(Vec<u16>),
}

impl StoredRgb {
    fn new(image: &Image) -> Self {
        let samples = match image.depth() {
            Depth::U8 => Samples::U8(image.data().iter().map(|&v| v as u8).collect()),
            Depth::U16 => Samples::U16(image.data().iter().map(|&v| v as u16).collect()),
        };
        Self {
            width: image.width(),
            height: image.height(),
            samples,
        }
    }

    fn bytes(&self) -> usize {
        match &self.samples {
            Samples::U8(v) => v.len(),
            Samples::U16(v) => 2 * v.len(),
        }
    }

    fn is_16_bit(&self) -> bool {
        matches!(self.samples, Samples::U16(_))
    }

    /// A square crop on the 0..=255 scale (16-bit samples divided by 257, fractions kept).
    fn crop(&self, x0: usize, y0: usize, side: usize) -> Image {
        let rows =
            (y0..y0 + side).map(|y| (y * self.width + x0) * 3..(y * self.width + x0 + side) * 3);
        let data = match &self.samples {
            Samples::U8(v) => rows.flat_map(|r| &v[r]).map(|&s| f32::from(s)).collect(),
            Samples::U16(v) => rows
                .flat_map(|r| &v[r])
                .map(|&s| f32::from(s) / 257.0)
                .collect(),
        };
        Image::new(side, side, Layout::Rgb, Depth::U8, data).expect("a square RGB crop")
    }
}

/// One image's pixels: HR cropped to a multiple of the scale, and its LR unless a degradation
/// makes LR patches per sample.
struct Pixels {
    hr: StoredRgb,
    lr: Option<StoredRgb>,
}

impl Pixels {
    fn bytes(&self) -> usize {
        self.hr.bytes() + self.lr.as_ref().map_or(0, StoredRgb::bytes)
    }

    /// How many patch positions [`TrainSet::sample`] can draw: LR positions when there is an
    /// LR image, HR positions otherwise.
    fn positions(&self, patch: usize, scale: usize) -> u64 {
        let (image, side) = match &self.lr {
            Some(lr) => (lr, patch),
            None => (&self.hr, patch * scale),
        };
        ((image.width - side + 1) * (image.height - side + 1)) as u64
    }
}

struct Entry {
    hr: PathBuf,
    lr: Option<PathBuf>,
    /// The factor the HR image is shrunk by before use; 1 for the image as it is.
    factor: f64,
    positions: u64,
    cached: Option<Pixels>,
}

/// Training images and how to cut LR/HR patch pairs from them.
pub struct TrainSet {
    entries: Vec<Entry>,
    /// For [`Sampling::Position`]: the running total of the entries' positions.
    position_ends: Option<Vec<u64>>,
    scale: usize,
    patch: usize,
    augment: Augment,
    degradation: Option<Pipeline>,
    skipped: usize,
}

/// Decodes to RGB at the file's depth: gray expanded, alpha dropped.
fn read_rgb(path: &Path) -> Result<Image, DataError> {
    let (color, _alpha) = io::read(path)?.image.to_rgb().split_alpha();
    Ok(color)
}

/// One decoded image, shrunk by `factor`, with its LR file (or its bicubic LR when `bicubic`);
/// the image is decoded once for all its downscaled copies.
fn prepare(
    image: &Image,
    lr_path: Option<&Path>,
    factor: f64,
    scale: usize,
    bicubic: bool,
) -> Result<Pixels, DataError> {
    let hr = if factor == 1.0 {
        image.crop_to_multiple(scale)?
    } else {
        let options = ResizeOptions::matlab(Filter::Bicubic);
        resize(image, Target::Scale(factor), options)?.crop_to_multiple(scale)?
    };
    let lr = match lr_path {
        Some(path) => {
            let lr = read_rgb(path)?;
            let expected = (hr.width() / scale, hr.height() / scale);
            if (lr.width(), lr.height()) != expected {
                return Err(DataError::LrSize {
                    lr: path.to_path_buf(),
                    got: (lr.width(), lr.height()),
                    expected,
                    scale,
                });
            }
            Some(lr)
        }
        // Once per image, from the whole image as the papers do, so patches carry no border
        // effects of their own. MATLAB's imresize rounds to the input's integer type, as this does.
        None if bicubic => Some(downscale_bicubic(&hr, scale as f64)?),
        None => None,
    };
    Ok(Pixels {
        hr: StoredRgb::new(&hr),
        lr: lr.as_ref().map(StoredRgb::new),
    })
}

impl TrainSet {
    /// Finds and decodes the images of `config` for a model of `scale`, keeping them in
    /// memory while they fit in `cache_mb`. Images smaller than the HR patch are skipped
    /// ([`TrainSet::skipped`]).
    pub fn open(config: &DataConfig, scale: usize) -> Result<Self, DataError> {
        config.check(scale)?;
        let lr_folder = config.lr.as_deref().map(LrFolder::open).transpose()?;
        let factors: Vec<f64> = std::iter::once(1.0)
            .chain(config.downscales.iter().copied())
            .collect();
        let mut files = Vec::new();
        for dir in &config.hr {
            for hr in list_images(dir)? {
                let lr = match &lr_folder {
                    Some(folder) => Some(folder.find(&hr, scale)?),
                    None => None,
                };
                files.push((hr, lr));
            }
        }
        let side = config.patch * scale;
        let bicubic = config.degradation.is_none();
        let budget = config.cache_mb.saturating_mul(1 << 20);
        let used = AtomicUsize::new(0);
        let found = files.len() * factors.len();
        let entries: Vec<Entry> = files
            .into_par_iter()
            .map(|(hr, lr)| {
                let image = read_rgb(&hr)?;
                let mut usable = Vec::new();
                for &factor in &factors {
                    let pixels = prepare(&image, lr.as_deref(), factor, scale, bicubic)?;
                    if pixels.hr.width < side || pixels.hr.height < side {
                        continue;
                    }
                    // Which images are cached varies between runs; what they give does not.
                    let fits = used
                        .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |total| {
                            total.checked_add(pixels.bytes()).filter(|&t| t <= budget)
                        })
                        .is_ok();
                    usable.push(Entry {
                        hr: hr.clone(),
                        lr: lr.clone(),
                        factor,
                        positions: pixels.positions(config.patch, scale),
                        cached: fits.then_some(pixels),
                    });
                }
                Ok(usable)
            })
            .collect::<Result<Vec<_>, DataError>>()?
            .into_iter()
            .flatten()
            .collect();
        if entries.is_empty() {
            return Err(DataError::AllTooSmall { count: found, side });
        }
        let position_ends = (config.sampling == Sampling::Position).then(|| {
            entries
                .iter()
                .scan(0, |total, entry| {
                    *total += entry.positions;
                    Some(*total)
                })
                .collect()
        });
        let set = Self {
            skipped: found - entries.len(),
            entries,
            position_ends,
            scale,
            patch: config.patch,
            augment: config.augment.clone(),
            degradation: config.degradation.clone(),
        };
        if set.degradation.is_some() {
            // A degradation that makes the wrong LR size fails here, not hours into training.
            set.sample(&mut ChaCha8Rng::seed_from_u64(0))?;
        }
        Ok(set)
    }

    /// The number of usable images, each downscaled copy counted as one.
    pub fn images(&self) -> usize {
        self.entries.len()
    }

    /// The number of images skipped for being smaller than the HR patch.
    pub fn skipped(&self) -> usize {
        self.skipped
    }

    /// The number of images held in memory; the others are decoded per sample.
    pub fn cached(&self) -> usize {
        self.entries.iter().filter(|e| e.cached.is_some()).count()
    }

    /// The model's scale: HR patches are `scale * patch` on a side.
    pub fn scale(&self) -> usize {
        self.scale
    }

    /// The LR patch side.
    pub fn patch(&self) -> usize {
        self.patch
    }

    /// A random pair: an image chosen as the recipe's [`Sampling`] says, a uniform position
    /// in it aligned between LR and HR, one flip/rotation and one set of color factors applied
    /// to both patches.
    pub fn sample<R: Rng + ?Sized>(&self, rng: &mut R) -> Result<Pair, DataError> {
        let index = match &self.position_ends {
            None => rng.random_range(0..self.entries.len()),
            Some(ends) => {
                let drawn = rng.random_range(0..ends[ends.len() - 1]);
                ends.partition_point(|&end| end <= drawn)
            }
        };
        let entry = &self.entries[index];
        let loaded;
        let pixels = match &entry.cached {
            Some(pixels) => pixels,
            None => {
                let bicubic = self.degradation.is_none();
                loaded = prepare(
                    &read_rgb(&entry.hr)?,
                    entry.lr.as_deref(),
                    entry.factor,
                    self.scale,
                    bicubic,
                )?;
                &loaded
            }
        };
        let (p, s) = (self.patch, self.scale);
        let (hr, lr) = match &pixels.lr {
            Some(lr) => {
                let x = rng.random_range(0..=lr.width - p);
                let y = rng.random_range(0..=lr.height - p);
                (pixels.hr.crop(x * s, y * s, p * s), Some(lr.crop(x, y, p)))
            }
            None => {
                let x = rng.random_range(0..=pixels.hr.width - p * s);
                let y = rng.random_range(0..=pixels.hr.height - p * s);
                (pixels.hr.crop(x, y, p * s), None)
            }
        };
        let dihedral = self.augment.draw_dihedral(rng);
        let mut hr = dihedral.apply(&hr);
        let mut lr = lr.map(|lr| dihedral.apply(&lr));
        if let Some(jitter) = &self.augment.color_jitter {
            jitter.draw(rng).apply(&mut hr, lr.as_mut());
        }
        let lr = match lr {
            Some(lr) => lr,
            None => self.degrade(&hr, pixels.hr.is_16_bit(), rng)?,
        };
        Ok(Pair { lr, hr })
    }

    /// The LR patch of an augmented HR patch, made by the degradation, rounded as a file of
    /// the source's depth would be.
    fn degrade<R: Rng + ?Sized>(
        &self,
        hr: &Image,
        sixteen_bit: bool,
        rng: &mut R,
    ) -> Result<Image, DataError> {
        let pipeline = self
            .degradation
            .as_ref()
            .expect("LR images are loaded unless a degradation makes them");
        // Degradations act at the source's depth (noise levels are relative to it, resizing
        // rounds to it); pairs are on the 0..=255 scale.
        let depth = if sixteen_bit { Depth::U16 } else { Depth::U8 };
        let mut lr = pipeline.apply(&hr.to_depth(depth), rng)?;
        if (lr.width(), lr.height()) != (self.patch, self.patch) {
            return Err(DataError::DegradedSize {
                got: (lr.width(), lr.height()),
                side: self.patch,
            });
        }
        // Noise and resizing leave fractions and overshoot; the model sees inputs rounded as
        // a file of the source's depth would be.
        lr.quantize();
        Ok(lr.to_depth(Depth::U8))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::fixtures::{datasets, folder, texture, write};
    use crate::data::{ColorJitter, Dihedral};
    use upres_image::degrade::{Range, Step};

    fn config(dir: &Path, patch: usize) -> DataConfig {
        DataConfig {
            patch,
            ..DataConfig::new(vec![dir.to_path_buf()])
        }
    }

    /// No flips or rotations.
    fn plain(dir: &Path, patch: usize) -> DataConfig {
        let mut c = config(dir, patch);
        (c.augment.hflip, c.augment.vflip, c.augment.rot90) = (false, false, false);
        c
    }

    fn samples(set: &TrainSet, n: u64) -> Vec<Pair> {
        (0..n)
            .map(|seed| set.sample(&mut ChaCha8Rng::seed_from_u64(seed)).unwrap())
            .collect()
    }

    /// Downscaling the HR patch gives the LR patch, but near the patch border, where the
    /// whole image's LR saw pixels beyond the patch.
    fn assert_aligned(pair: &Pair, scale: usize) {
        let down = downscale_bicubic(&pair.hr, scale as f64).unwrap();
        let (w, h) = (down.width(), down.height());
        assert_eq!((w, h), (pair.lr.width(), pair.lr.height()));
        let mut worst = 0.0f32;
        for y in 3..h - 3 {
            for x in 3..w - 3 {
                for (a, b) in down.pixel(x, y).iter().zip(pair.lr.pixel(x, y)) {
                    worst = worst.max((a - b).abs());
                }
            }
        }
        assert!(worst <= 1.0, "LR differs from the downscaled HR by {worst}");
    }

    #[test]
    fn bicubic_pairs_are_aligned() {
        let set = TrainSet::open(&plain(&datasets().join("T91/HR"), 16), 3).unwrap();
        assert_eq!((set.images(), set.skipped()), (91, 0));
        for pair in samples(&set, 16) {
            assert_eq!((pair.lr.width(), pair.lr.height()), (16, 16));
            assert_eq!((pair.hr.width(), pair.hr.height()), (48, 48));
            assert_aligned(&pair, 3);
        }
    }

    #[test]
    fn downscaled_copies_join_the_set() {
        let dir = folder(&[(64, 64)]);
        let mut c = plain(dir.path(), 8);
        c.downscales = vec![0.5, 0.25];
        let set = TrainSet::open(&c, 2).unwrap();
        // The quarter-size copy (16 px) just holds the 16 px HR patch; a fifth (13 px, 12
        // after cropping to the scale) does not, below.
        assert_eq!((set.images(), set.skipped()), (3, 0));
        let original = read_rgb(&dir.path().join("img0.png")).unwrap();
        let copies: Vec<Image> = [1.0, 0.5, 0.25]
            .map(|f| {
                resize(
                    &original,
                    Target::Scale(f),
                    ResizeOptions::matlab(Filter::Bicubic),
                )
                .unwrap()
            })
            .to_vec();
        let mut seen = [false; 3];
        for pair in samples(&set, 64) {
            assert_aligned(&pair, 2);
            let side = pair.hr.width();
            let source = copies.iter().position(|copy| {
                (0..=copy.height() - side).any(|y| {
                    (0..=copy.width() - side)
                        .any(|x| copy.crop(x, y, side, side).unwrap().data() == pair.hr.data())
                })
            });
            seen[source.expect("every HR patch is cut from one of the copies")] = true;
        }
        assert_eq!(seen, [true; 3]);
        c.downscales = vec![0.2];
        let set = TrainSet::open(&c, 2).unwrap();
        assert_eq!((set.images(), set.skipped()), (1, 1));
    }

    #[test]
    fn position_sampling_draws_images_by_their_patch_positions() {
        // A 16 px image holds one 16 px HR patch; a 64 px one holds 25 x 25 LR positions.
        let dir = folder(&[(16, 16), (64, 64)]);
        let small = read_rgb(&dir.path().join("img0.png")).unwrap();
        let from_small = |c: &DataConfig| {
            let set = TrainSet::open(c, 2).unwrap();
            let pairs = samples(&set, 400);
            pairs.iter().filter(|p| p.hr.data() == small.data()).count()
        };
        let mut c = plain(dir.path(), 8);
        let by_image = from_small(&c);
        assert!((150..=250).contains(&by_image), "{by_image} of 400");
        c.sampling = Sampling::Position;
        // 400 / 626 expected.
        let by_position = from_small(&c);
        assert!(by_position <= 4, "{by_position} of 400");
    }

    #[test]
    fn paired_lr_folder_matches_benchmark_names() {
        let set14 = datasets().join("Set14");
        let mut c = plain(&set14.join("HR"), 32);
        c.lr = Some(set14.join("LR_bicubic/X3"));
        let set = TrainSet::open(&c, 3).unwrap();
        assert_eq!(set.images(), 14);
        for pair in samples(&set, 8) {
            assert_aligned(&pair, 3);
        }
    }

    #[test]
    fn paired_lr_missing_or_of_the_wrong_size_is_an_error() {
        let hr = folder(&[(40, 40)]);
        let lr = tempfile::tempdir().unwrap();
        let mut c = config(hr.path(), 8);
        c.lr = Some(lr.path().to_path_buf());
        write(lr.path(), "other.png", &texture(20, 20, 0));
        let err = TrainSet::open(&c, 2).err().unwrap();
        assert!(matches!(err, DataError::LrMissing { .. }), "{err}");
        write(lr.path(), "img0x2.png", &texture(21, 20, 0));
        let err = TrainSet::open(&c, 2).err().unwrap();
        assert!(matches!(err, DataError::LrSize { .. }), "{err}");
        write(lr.path(), "img0x2.png", &texture(20, 20, 0));
        TrainSet::open(&c, 2).unwrap();
    }

    #[test]
    fn augmented_pairs_are_one_transform_of_the_plain_pair() {
        let dir = folder(&[(60, 50), (45, 70)]);
        let plain = TrainSet::open(&plain(dir.path(), 12), 2).unwrap();
        let augmented = TrainSet::open(&config(dir.path(), 12), 2).unwrap();
        let mut seen = Vec::new();
        for (a, b) in samples(&plain, 64).iter().zip(samples(&augmented, 64)) {
            let d = Dihedral::all()
                .find(|d| d.apply(&a.lr) == b.lr && d.apply(&a.hr) == b.hr)
                .expect("LR and HR take the same transform");
            if !seen.contains(&d) {
                seen.push(d);
            }
        }
        assert_eq!(seen.len(), 8);
    }

    #[test]
    fn color_jitter_acts_on_both_patches_alike() {
        let dir = folder(&[(40, 40)]);
        let base = config(dir.path(), 8);
        let with_jitter = |jitter: ColorJitter| {
            let mut c = base.clone();
            c.augment.color_jitter = Some(jitter);
            TrainSet::open(&c, 2).unwrap()
        };
        let reference = samples(&TrainSet::open(&base, 2).unwrap(), 8);
        assert_eq!(samples(&with_jitter(ColorJitter::default()), 8), reference);
        let darker = with_jitter(ColorJitter {
            brightness: [0.5, 0.5],
            ..ColorJitter::default()
        });
        for (a, b) in reference.iter().zip(samples(&darker, 8)) {
            for (plain, dark) in [(&a.lr, &b.lr), (&a.hr, &b.hr)] {
                let halved: Vec<f32> = plain.data().iter().map(|v| v * 0.5).collect();
                assert_eq!(dark.data(), halved.as_slice());
            }
        }
    }

    #[test]
    fn cached_and_uncached_images_give_the_same_pairs() {
        let dir = folder(&[(40, 36), (50, 30)]);
        let mut c = config(dir.path(), 8);
        let cached = TrainSet::open(&c, 3).unwrap();
        c.cache_mb = 0;
        let on_disk = TrainSet::open(&c, 3).unwrap();
        assert_eq!((cached.cached(), on_disk.cached()), (2, 0));
        assert_eq!(samples(&cached, 8), samples(&on_disk, 8));
    }

    #[test]
    fn sixteen_bit_and_alpha_inputs_become_rgb() {
        let rgb8 = texture(30, 30, 0);
        let rgba16: Vec<f32> = rgb8
            .data()
            .chunks_exact(3)
            .flat_map(|px| [px[0] * 257.0, px[1] * 257.0, px[2] * 257.0, 65535.0])
            .collect();
        let rgba16 = Image::new(30, 30, Layout::Rgba, Depth::U16, rgba16).unwrap();
        let (a, b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
        write(a.path(), "x.png", &rgb8);
        write(b.path(), "x.png", &rgba16);
        let open = |dir: &Path| TrainSet::open(&config(dir, 6), 2).unwrap();
        // The same HR patches; the 16-bit image's LR is rounded to 16 bits, not 8.
        for (p8, p16) in samples(&open(a.path()), 4)
            .iter()
            .zip(&samples(&open(b.path()), 4))
        {
            assert_eq!(p8.hr, p16.hr);
            let worst = p8
                .lr
                .data()
                .iter()
                .zip(p16.lr.data())
                .map(|(x, y)| (x - y).abs())
                .fold(0.0f32, f32::max);
            // MATLAB rounds 8-bit images after each axis, hence more than half a step.
            assert!(worst <= 1.0, "LR differs by {worst}");
            assert!(p16.lr.data().iter().any(|v| v.fract() != 0.0));
        }
    }

    #[test]
    fn small_images_are_skipped_and_bad_files_named() {
        let dir = folder(&[(40, 40), (20, 30)]);
        let set = TrainSet::open(&config(dir.path(), 12), 2).unwrap();
        assert_eq!((set.images(), set.skipped()), (1, 1));
        let err = TrainSet::open(&config(dir.path(), 30), 2).err().unwrap();
        assert!(
            matches!(err, DataError::AllTooSmall { count: 2, side: 60 }),
            "{err}"
        );
        std::fs::write(dir.path().join("broken.png"), b"not a png").unwrap();
        let err = TrainSet::open(&config(dir.path(), 12), 2).err().unwrap();
        assert!(err.to_string().contains("broken.png"), "{err}");
    }

    #[test]
    fn sixteen_bit_gray_keeps_its_precision() {
        // A 16-bit gray ramp rising by 5 per pixel: 8-bit rounding would leave steps of 257.
        let (w, h) = (64, 48);
        let data: Vec<f32> = (0..w * h)
            .map(|i| (20_000 + 5 * (i % w) + 300 * (i / w)) as f32)
            .collect();
        let image = Image::new(w, h, Layout::Gray, Depth::U16, data).unwrap();
        let dir = tempfile::tempdir().unwrap();
        write(dir.path(), "scan16.png", &image);
        let fraction = |pair: &Pair| pair.hr.data().iter().filter(|v| v.fract() != 0.0).count();
        let bicubic = TrainSet::open(&plain(dir.path(), 8), 2).unwrap();
        for pair in samples(&bicubic, 4) {
            assert!(
                fraction(&pair) > pair.hr.data().len() / 2,
                "HR rounded to 8 bits"
            );
            let exact = |v: &f32| ((v * 257.0).round() - v * 257.0).abs() < 1e-2;
            assert!(pair.hr.data().iter().all(exact) && pair.lr.data().iter().all(exact));
            assert!(
                pair.lr.data().iter().any(|v| v.fract() != 0.0),
                "LR rounded to 8 bits"
            );
            assert_aligned(&pair, 2);
        }
        // A degradation's LR is rounded to 16-bit steps too.
        let mut c = plain(dir.path(), 8);
        c.degradation = Some(Pipeline {
            steps: vec![Step::Downscale { scale: 2.0 }],
        });
        let degraded = TrainSet::open(&c, 2).unwrap();
        for pair in samples(&degraded, 4) {
            assert!(
                pair.lr.data().iter().any(|v| v.fract() != 0.0),
                "LR rounded to 8 bits"
            );
        }
    }

    #[test]
    fn degradation_makes_lr_patches_of_the_patch_size_or_fails() {
        let dir = folder(&[(48, 48)]);
        let mut c = config(dir.path(), 12);
        c.degradation = Some(Pipeline {
            steps: vec![
                Step::Downscale { scale: 2.0 },
                Step::GaussianNoise {
                    sigma: Range(1.0, 5.0),
                    gray_prob: 0.0,
                },
            ],
        });
        let set = TrainSet::open(&c, 2).unwrap();
        for pair in samples(&set, 4) {
            assert_eq!((pair.lr.width(), pair.hr.width()), (12, 24));
            assert!(
                pair.lr
                    .data()
                    .iter()
                    .all(|v| v.fract() == 0.0 && (0.0..=255.0).contains(v))
            );
        }
        c.degradation = Some(Pipeline {
            steps: vec![Step::Downscale { scale: 4.0 }],
        });
        let err = TrainSet::open(&c, 2).err().unwrap();
        assert!(
            matches!(
                err,
                DataError::DegradedSize {
                    got: (6, 6),
                    side: 12
                }
            ),
            "{err}"
        );
    }
}
