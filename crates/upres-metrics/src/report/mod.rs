//! The evaluation report: every method's Y-PSNR / SSIM (and a perceptual distance) per test
//! set, scale and degradation, beside the published figures ([`published`]); and, for
//! regions chosen on each set ([`regions`]: its strongest edges and richest texture, or named
//! ones), the methods' outputs side by side, enlarged by nearest neighbour ([`grid`]). Written
//! as an HTML page, a Markdown page and PNG grids ([`page`]).

pub mod grid;
pub mod page;
pub mod published;
pub mod regions;

use std::path::Path;

use crate::evaluate::{
    Dataset, DatasetScores, EvalError, LowResSource, Restoration, evaluate_observed,
};
use crate::perceptual::PerceptualDistance;
use crate::protocol::{Channel, Protocol, compare};
use grid::Tile;
use published::Published;
use regions::{Region, RegionKind};
use upres_image::degrade::TestDegradation;
use upres_image::io::{self, Metadata, WriteOptions};
use upres_image::{Image, ImageError, Upscaler};

/// A method in the report, and what its paper published.
pub struct ReportMethod {
    /// The name the report shows (what the user passed).
    pub label: String,
    pub upscaler: Box<dyn Upscaler>,
    pub published: Vec<Published>,
}

/// A region named by the user: image `name` (file stem, in whichever dataset has it), top-left
/// corner in HR pixels.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CropRequest {
    pub name: String,
    pub x: usize,
    pub y: usize,
}

/// What the report covers.
#[derive(Clone, Debug)]
pub struct ReportOptions {
    pub scales: Vec<usize>,
    pub degradations: Vec<TestDegradation>,
    /// Side of every crop in HR pixels; a multiple of every scale.
    pub crop_size: usize,
    /// How much the HR-sized crops are enlarged.
    pub zoom: usize,
    /// Pick each set's edge and texture regions.
    pub auto_regions: bool,
    pub crops: Vec<CropRequest>,
}

/// One method's line in a table.
pub struct Row {
    pub method: String,
    pub scores: DatasetScores,
    pub published: Option<Published>,
}

/// The methods on one set at one scale and degradation.
pub struct Table {
    pub dataset: String,
    pub scale: usize,
    pub degradation: TestDegradation,
    pub rows: Vec<Row>,
}

/// One grid of crops and where it came from.
pub struct Figure {
    pub dataset: String,
    pub scale: usize,
    pub degradation: TestDegradation,
    pub region: Region,
    /// File name of the PNG, in the report's folder.
    pub file: String,
    pub grid: Image,
}

pub struct Report {
    pub tables: Vec<Table>,
    pub figures: Vec<Figure>,
    /// The perceptual column's name, when there is one.
    pub perceptual: Option<String>,
    /// The command that made the report, shown on its pages.
    pub command: String,
    pub crop_size: usize,
    pub zoom: usize,
}

/// The least common multiple of the scales: crops at its multiples start on an LR pixel at
/// every scale.
pub fn alignment(scales: &[usize]) -> usize {
    let gcd = |mut a: usize, mut b: usize| {
        while b != 0 {
            (a, b) = (b, a % b);
        }
        a
    };
    scales.iter().fold(1, |l, &s| l / gcd(l, s) * s)
}

/// Checks the options against each other before any work.
fn check(options: &ReportOptions) -> Result<(), ImageError> {
    let invalid = |m: String| Err(ImageError::InvalidArgument(m));
    if options.scales.is_empty() || options.scales.contains(&0) {
        return invalid("the report needs scales of at least 1".into());
    }
    if options.zoom == 0 {
        return invalid("the zoom must be at least 1".into());
    }
    let align = alignment(&options.scales);
    if options.crop_size == 0 || !options.crop_size.is_multiple_of(align) {
        return invalid(format!(
            "the crop size ({}) must be a positive multiple of {align}, so that every scale's \
             input crop has whole pixels",
            options.crop_size
        ));
    }
    Ok(())
}

/// Scores every method that supports each scale and crops the chosen regions. `progress`
/// hears one line per finished table.
pub fn build(
    methods: &[ReportMethod],
    datasets: &[Dataset],
    options: &ReportOptions,
    perceptual: Option<&dyn PerceptualDistance>,
    command: String,
    progress: &mut dyn FnMut(&str),
) -> Result<Report, EvalError> {
    check(options)?;
    let align = alignment(&options.scales);
    let margin = options.scales.iter().copied().max().unwrap_or(0);
    let mut tables = Vec::new();
    let mut figures = Vec::new();
    for dataset in datasets {
        let mut regions = if options.auto_regions {
            regions::pick(dataset, options.crop_size, align, margin)?
        } else {
            Vec::new()
        };
        regions.extend(chosen_regions(dataset, options, align)?);
        for &scale in &options.scales {
            let at_scale: Vec<&ReportMethod> = methods
                .iter()
                .filter(|m| m.upscaler.fixed_scale().is_none_or(|s| s == scale))
                .collect();
            if at_scale.is_empty() {
                continue;
            }
            for &degradation in &options.degradations {
                let source = match degradation {
                    TestDegradation::Bi => LowResSource::Bicubic,
                    other => LowResSource::Degraded(other),
                };
                let mut grids: Vec<GridBuilder> = regions
                    .iter()
                    .map(|region| GridBuilder::new(region, scale, degradation, options.zoom))
                    .collect();
                let mut rows = Vec::new();
                for method in &at_scale {
                    let scores = evaluate_observed(
                        method.upscaler.as_ref(),
                        dataset,
                        scale,
                        source,
                        Channel::Y,
                        perceptual,
                        &mut |index, restoration| {
                            grids
                                .iter_mut()
                                .filter(|g| g.region.image == index)
                                .try_for_each(|g| g.add(&method.label, restoration))
                        },
                    )?;
                    // The papers' figures are for bicubic inputs.
                    let published = (degradation == TestDegradation::Bi)
                        .then(|| published::find(&method.published, dataset.name(), scale))
                        .flatten()
                        .copied();
                    rows.push(Row {
                        method: method.label.clone(),
                        scores,
                        published,
                    });
                }
                progress(&summary(dataset.name(), scale, degradation, &rows));
                tables.push(Table {
                    dataset: dataset.name().into(),
                    scale,
                    degradation,
                    rows,
                });
                figures.extend(grids.into_iter().map(|g| g.finish(dataset.name())));
            }
        }
    }
    Ok(Report {
        tables,
        figures,
        perceptual: perceptual.map(|p| p.name()),
        command,
        crop_size: options.crop_size,
        zoom: options.zoom,
    })
}

fn summary(dataset: &str, scale: usize, degradation: TestDegradation, rows: &[Row]) -> String {
    let scores: Vec<String> = rows
        .iter()
        .map(|r| format!("{} {:.3} dB", r.method, r.scores.mean.psnr))
        .collect();
    format!("{dataset} x{scale} {degradation}: {}", scores.join(", "))
}

/// The requested crops that name an image of `dataset`, moved onto the alignment grid.
fn chosen_regions(
    dataset: &Dataset,
    options: &ReportOptions,
    align: usize,
) -> Result<Vec<Region>, EvalError> {
    let names: Vec<String> = dataset.image_names().collect();
    let mut regions = Vec::new();
    for crop in &options.crops {
        let Some(index) = names.iter().position(|n| *n == crop.name) else {
            continue;
        };
        let high = dataset.high_res(index, align)?;
        let size = options.crop_size;
        let (x, y) = (crop.x / align * align, crop.y / align * align);
        if x + size > high.width() || y + size > high.height() {
            return Err(EvalError::Dataset {
                dataset: dataset.name().into(),
                reason: format!(
                    "a {size}x{size} crop at {x},{y} does not fit in {} ({}x{})",
                    crop.name,
                    high.width(),
                    high.height()
                ),
            });
        }
        regions.push(Region {
            image: index,
            name: crop.name.clone(),
            x,
            y,
            size,
            kind: RegionKind::Chosen,
        });
    }
    Ok(regions)
}

/// The grid of one region, filled as the methods run: the input and the reference from the
/// first method's run, then one tile per method.
struct GridBuilder<'a> {
    region: &'a Region,
    scale: usize,
    degradation: TestDegradation,
    zoom: usize,
    tiles: Vec<Tile>,
    reference: Option<Image>,
}

impl<'a> GridBuilder<'a> {
    fn new(region: &'a Region, scale: usize, degradation: TestDegradation, zoom: usize) -> Self {
        Self {
            region,
            scale,
            degradation,
            zoom,
            tiles: Vec::new(),
            reference: None,
        }
    }

    /// Adds the tile of the method `label`, from its run on the region's image.
    fn add(&mut self, label: &str, restoration: &Restoration) -> Result<(), EvalError> {
        let Region { x, y, size, .. } = *self.region;
        let (scale, degradation, zoom) = (self.scale, self.degradation, self.zoom);
        let crop = restoration.restored.crop(x, y, size, size)?;
        let reference = restoration.high.crop(x, y, size, size)?;
        let scores = compare(
            &crop,
            &reference,
            Protocol {
                crop_border: 0,
                ..Protocol::papers(scale)
            },
        )?;
        if self.reference.is_none() {
            self.tiles.push(Tile {
                crop: restoration
                    .low
                    .crop(x / scale, y / scale, size / scale, size / scale)?,
                zoom: zoom * scale,
                title: "input".into(),
                caption: format!("{degradation}, 1/{scale} size"),
            });
            self.reference = Some(reference);
        }
        self.tiles.push(Tile {
            crop,
            zoom,
            title: label.to_string(),
            caption: format!("{:.2} dB", scores.psnr),
        });
        Ok(())
    }

    /// The grid with the reference last, and its file name.
    fn finish(mut self, dataset: &str) -> Figure {
        let (region, scale, degradation, zoom) =
            (self.region, self.scale, self.degradation, self.zoom);
        if let Some(reference) = self.reference {
            self.tiles.push(Tile {
                crop: reference,
                zoom,
                title: "HR reference".into(),
                caption: format!("{}, {},{}", region.name, region.x, region.y),
            });
        }
        let file = format!(
            "{dataset}_x{scale}_{degradation}_{}_{}.png",
            region.kind.name(),
            region.name
        )
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '.' {
                c.to_ascii_lowercase()
            } else {
                '_'
            }
        })
        .collect();
        Figure {
            dataset: dataset.into(),
            scale,
            degradation,
            region: region.clone(),
            file,
            grid: grid::compose(&self.tiles),
        }
    }
}

/// Writes the grids, `index.html` and `report.md` into `dir` (made if missing); each file is
/// written whole or not at all.
pub fn write(report: &Report, dir: &Path) -> Result<(), ImageError> {
    std::fs::create_dir_all(dir).map_err(|source| ImageError::Io {
        path: dir.to_path_buf(),
        source,
    })?;
    for figure in &report.figures {
        io::write(
            &dir.join(&figure.file),
            &figure.grid,
            &Metadata::default(),
            WriteOptions::default(),
        )?;
    }
    io::write_bytes(
        &dir.join("report.md"),
        page::markdown(report).as_bytes(),
        true,
    )?;
    io::write_bytes(&dir.join("index.html"), page::html(report).as_bytes(), true)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn crops_align_to_every_scale() {
        assert_eq!(alignment(&[2, 3, 4]), 12);
        assert_eq!(alignment(&[4, 2]), 4);
        assert_eq!(alignment(&[3]), 3);
        let options = |crop_size| ReportOptions {
            scales: vec![2, 3, 4],
            degradations: vec![TestDegradation::Bi],
            crop_size,
            zoom: 4,
            auto_regions: true,
            crops: Vec::new(),
        };
        assert!(check(&options(48)).is_ok());
        let err = check(&options(40)).unwrap_err().to_string();
        assert!(err.contains("multiple of 12"), "{err}");
    }
}
