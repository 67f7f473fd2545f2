//! One file through a method: decode (streamed where the format allows), tile, optionally
//! self-ensemble, encode through a temporary file.

use crate::bands::BandWise;
use crate::batch::Job;
use crate::ensemble::self_ensemble;
use crate::tiling::{Join, TileError, TilePlan, upscale_tiled};
use upres_image::io::{Bands, Format, ReadOptions, WriteOptions};
use upres_image::stream::{FileRows, FileSink, ImageCollector, ImageRows, RowSource, SinkShape};
use upres_image::{Image, ImageError, Layout, UpscaleError, Upscaler};

/// Tile side used when the caller does not choose one: large enough that the context margin
/// costs little, small enough that a tile's activations fit comfortably in memory.
pub const DEFAULT_TILE: usize = 256;

/// Tile sides [`auto_tile`] chooses from: below 64 the margins dominate; above 512 nothing
/// is gained (ESPCN x4 on a 1024x768 photo took 2.5 s at 256 and about 3 s at 1024).
const AUTO_TILE_RANGE: (usize, usize) = (64, 512);

/// The largest tile side (a multiple of 32 in [`AUTO_TILE_RANGE`]) whose working memory fits
/// in `budget` bytes: the method's own for a tile with its margins, plus what the tiling holds
/// for a band of such tiles across an image `width` pixels wide with `channels` channels.
/// [`DEFAULT_TILE`] for methods that do not say what a tile costs.
pub fn auto_tile(
    method: &dyn Upscaler,
    scale: usize,
    budget: u64,
    width: usize,
    channels: usize,
) -> usize {
    let (low, high) = AUTO_TILE_RANGE;
    if method.tile_bytes(low, scale).is_none() {
        return DEFAULT_TILE;
    }
    (low..=high)
        .rev()
        .step_by(32)
        .find(|&side| {
            let plan = tile_plan(method, side);
            let band = band_bytes(&plan, scale, width, channels);
            method
                .tile_bytes(side + 2 * plan.margin, scale)
                .is_some_and(|b| b + band <= budget)
        })
        .unwrap_or(low)
}

/// What [`upscale_tiled`] holds for one band of tiles: the input rows with their margins
/// (twice, while the window advances), the output rows being assembled in f32 (with a
/// weight per pixel when feathering, whose bands also cover the margins) and those rows
/// converted for the encoder.
fn band_bytes(plan: &TilePlan, scale: usize, width: usize, channels: usize) -> u64 {
    let f32_size = size_of::<f32>();
    let input_rows = plan.tile + 2 * plan.margin;
    let window = 2 * input_rows * width * channels * f32_size;
    let (output_rows, per_pixel) = match plan.join {
        Join::Crop => (plan.tile * scale, channels),
        Join::Feather => (input_rows * scale, channels + 1),
    };
    let assembled = output_rows * width * scale * per_pixel * f32_size;
    // At most 16-bit samples.
    let encoded = plan.tile * scale * width * scale * channels * 2;
    (window + assembled + encoded) as u64
}

/// What upscaling may use: a quarter of the memory the system reports available (Linux's
/// `MemAvailable`), or 2 GiB where it does not say.
pub fn memory_budget() -> u64 {
    let available = std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|info| {
            let line = info.lines().find(|l| l.starts_with("MemAvailable:"))?;
            let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
            Some(kib * 1024)
        });
    available.map_or(2 << 30, |bytes| bytes / 4)
}

/// Context given to methods without a finite receptive field, blended by feathering.
pub const GLOBAL_CONTEXT_MARGIN: usize = 32;

/// How the tile side is chosen.
#[derive(Clone, Copy, Debug)]
pub enum TileSize {
    /// This side, in input pixels.
    Fixed(usize),
    /// [`auto_tile`] for each image, within this many bytes.
    Auto { budget: u64 },
}

impl TileSize {
    /// A side the user gave, else automatic within `budget` bytes.
    pub fn given_or_auto(side: Option<usize>, budget: u64) -> Self {
        side.map_or(TileSize::Auto { budget }, TileSize::Fixed)
    }

    /// The side for an image `width` pixels wide with `channels` channels.
    pub fn side(self, method: &dyn Upscaler, scale: usize, width: usize, channels: usize) -> usize {
        match self {
            TileSize::Fixed(side) => side,
            TileSize::Auto { budget } => auto_tile(method, scale, budget, width, channels),
        }
    }
}

/// How to upscale a file.
#[derive(Clone, Copy, Debug)]
pub struct UpscaleOptions {
    pub scale: usize,
    pub tile: TileSize,
    /// Average over the eight flips and rotations.
    pub tta: bool,
    pub write: WriteOptions,
    pub read: ReadOptions,
}

impl UpscaleOptions {
    /// The tiling of an image `width` pixels wide with `layout` through `method`.
    fn plan(&self, method: &dyn Upscaler, width: usize, layout: Layout) -> TilePlan {
        let side = self.tile.side(method, self.scale, width, layout.channels());
        tile_plan(method, side)
    }
}

#[derive(Debug, thiserror::Error)]
pub enum PipelineError {
    #[error(transparent)]
    Image(#[from] ImageError),
    // The tile error is shown inline, not as a cause, so the line names the file once.
    #[error("{path}: {error}")]
    Tiles { path: String, error: TileError },
    /// The caller asked to stop before the last tile.
    #[error("stopped before the last tile")]
    Stopped,
}

/// What a tile runner returns when the caller asked it to stop.
#[derive(Debug, thiserror::Error)]
#[error("stopped")]
struct Stopped;

/// Upscales one tile: the method, or its x8 self-ensemble; refuses once `stop` says so.
fn run_tile(
    method: &dyn Upscaler,
    scale: usize,
    tta: bool,
    stop: &dyn Fn() -> bool,
    tile: &Image,
) -> Result<Image, UpscaleError> {
    if stop() {
        return Err(Box::new(Stopped));
    }
    if tta {
        self_ensemble(tile, &|t| method.upscale(t, scale))
    } else {
        method.upscale(tile, scale)
    }
}

/// A tiling error as the pipeline reports it, for the input called `name`.
fn pipeline_error(error: TileError, name: &str) -> PipelineError {
    match error {
        // Image errors name their file already.
        TileError::Image(error) => PipelineError::Image(error),
        TileError::Upscale(error) if error.is::<Stopped>() => PipelineError::Stopped,
        error => PipelineError::Tiles {
            path: name.to_string(),
            error,
        },
    }
}

/// The tiling a method needs: its receptive field as margin, or feathering if it has none.
fn tile_plan(method: &dyn Upscaler, tile: usize) -> TilePlan {
    let tile = tile.max(1);
    match method.receptive_radius() {
        Some(margin) => TilePlan {
            tile,
            margin,
            join: Join::Crop,
        },
        None => TilePlan {
            tile,
            margin: GLOBAL_CONTEXT_MARGIN,
            join: Join::Feather,
        },
    }
}

/// Upscales `job.input` into `job.output`; `progress` hears (tiles done, tiles in all).
pub fn upscale_file(
    job: &Job,
    method: &dyn Upscaler,
    options: &UpscaleOptions,
    progress: &mut dyn FnMut(usize, usize),
) -> Result<(), PipelineError> {
    let mut source = FileRows::open(&job.input, options.read)?;
    let format = match options.write.format {
        Some(f) => f,
        None => Format::from_path(&job.output)?,
    };
    // Refuse before any work what the output format cannot hold.
    let stack = source.metadata.bands == Bands::Stack;
    if stack && format != Format::Tiff {
        return Err(ImageError::InvalidArgument(format!(
            "{}: a stack of {} bands without a colour model can only be written as TIFF",
            job.output.display(),
            source.layout().channels()
        ))
        .into());
    }
    if !format.supports_layout(source.layout()) {
        return Err(ImageError::InvalidArgument(format!(
            "{}: {} cannot store a {:?} image; choose png",
            job.output.display(),
            format.extension(),
            source.layout()
        ))
        .into());
    }
    if let Some(parent) = job.output.parent() {
        std::fs::create_dir_all(parent).map_err(|e| ImageError::Io {
            path: parent.to_path_buf(),
            source: e,
        })?;
    }
    let scale = options.scale;
    let shape = SinkShape {
        width: source.width() * scale,
        height: source.height() * scale,
        layout: source.layout(),
        depth: source.depth(),
    };
    let write = WriteOptions {
        format: Some(format),
        ..options.write
    };
    let metadata = source.metadata.resized(scale as f64);
    let mut sink = FileSink::create(&job.output, shape, &metadata, write)?;
    let band_wise = BandWise(method);
    let method: &dyn Upscaler = if stack { &band_wise } else { method };
    let plan = options.plan(method, source.width(), source.layout());
    let run = |tile: &Image| run_tile(method, scale, options.tta, &|| false, tile);
    upscale_tiled(&mut source, &mut sink, scale, plan, &run, progress)
        .map_err(|error| pipeline_error(error, &job.input.display().to_string()))?;
    sink.finish()?;
    Ok(())
}

/// Upscales an image held in memory as [`upscale_file`] upscales a file, tile by tile, so
/// that working memory follows the tile. `name` labels errors; `progress` hears (tiles done,
/// tiles in all); `stop` is asked before each tile and ends the work with
/// [`PipelineError::Stopped`] once it says so (a server's timeout).
pub fn upscale_image(
    image: &Image,
    name: &str,
    method: &dyn Upscaler,
    options: &UpscaleOptions,
    progress: &mut dyn FnMut(usize, usize),
    stop: &dyn Fn() -> bool,
) -> Result<Image, PipelineError> {
    let scale = options.scale;
    let mut sink = ImageCollector::new(image.width() * scale, image.layout(), image.depth());
    let plan = options.plan(method, image.width(), image.layout());
    let run = |tile: &Image| run_tile(method, scale, options.tta, stop, tile);
    upscale_tiled(
        &mut ImageRows::new(image),
        &mut sink,
        scale,
        plan,
        &run,
        progress,
    )
    .map_err(|error| pipeline_error(error, name))?;
    Ok(sink.finish()?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::cell::Cell;
    use upres_image::resize::Filter;
    use upres_image::{Depth, Image, Interpolation, Layout};

    /// A method whose tiles cost `side^2` kilobytes, with a margin of 10.
    struct Costly;

    impl Upscaler for Costly {
        fn name(&self) -> String {
            "costly".into()
        }

        fn upscale(&self, low_res: &Image, _: usize) -> Result<Image, UpscaleError> {
            Ok(low_res.clone())
        }

        fn receptive_radius(&self) -> Option<usize> {
            Some(10)
        }

        fn tile_bytes(&self, side: usize, _: usize) -> Option<u64> {
            Some((side * side * 1000) as u64)
        }
    }

    #[test]
    fn auto_tile_is_the_largest_that_fits() {
        // (side + 20)^2 kB within 300^2 kB: sides up to 280 fit; the multiples of 32 are 256
        // and 288.
        assert_eq!(auto_tile(&Costly, 2, 300 * 300 * 1000, 0, 3), 256);
        assert_eq!(auto_tile(&Costly, 2, u64::MAX, 0, 3), 512);
        assert_eq!(auto_tile(&Costly, 2, 1, 0, 3), 64);
        assert_eq!(
            auto_tile(&Interpolation(Filter::Bicubic), 2, 1, 0, 3),
            DEFAULT_TILE
        );
    }

    #[test]
    fn auto_tile_counts_the_band_across_the_image() {
        // At 256 the tile's 76 MB and a 1000-pixel-wide RGB band's 25 MB pass 90 MB; at 224
        // the 60 MB and 22 MB fit.
        assert_eq!(auto_tile(&Costly, 2, 90_000_000, 0, 3), 256);
        assert_eq!(auto_tile(&Costly, 2, 90_000_000, 1000, 3), 224);
    }

    #[test]
    fn in_memory_upscale_matches_the_method_and_stops_when_asked() {
        let data = (0..40 * 30 * 3).map(|i| ((i * 37) % 256) as f32).collect();
        let image = Image::new(40, 30, Layout::Rgb, Depth::U8, data).unwrap();
        let method = Interpolation(Filter::Bicubic);
        let options = UpscaleOptions {
            scale: 2,
            tile: TileSize::Fixed(16),
            tta: false,
            write: WriteOptions::default(),
            read: ReadOptions::default(),
        };
        let mut reports = Vec::new();
        let tiled = upscale_image(
            &image,
            "x",
            &method,
            &options,
            &mut |done, total| reports.push((done, total)),
            &|| false,
        )
        .unwrap();
        assert_eq!(reports.last(), Some(&(6, 6)), "3x2 tiles of 16");
        let whole = method.upscale(&image, 2).unwrap();
        let worst = tiled
            .data()
            .iter()
            .zip(whole.data())
            .map(|(a, b)| (a - b).abs())
            .fold(0.0f32, f32::max);
        assert!(worst < 1e-3, "tiles differ from the whole image by {worst}");

        let done = Cell::new(0);
        let err = upscale_image(
            &image,
            "x",
            &method,
            &options,
            &mut |d, _| done.set(d),
            &|| done.get() >= 2,
        )
        .unwrap_err();
        assert!(matches!(err, PipelineError::Stopped), "{err}");
        assert_eq!(done.get(), 2);
    }
}
