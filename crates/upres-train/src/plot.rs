//! Plots: a training run's loss and validation PSNR against iterations, and an architecture
//! search's candidates on the speed/quality plane.

use std::fmt::Display;
use std::fs::{self, File};
use std::io::Write;
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::sync::OnceLock;
use std::sync::atomic::{AtomicUsize, Ordering};

use plotters::coord::Shift;
use plotters::coord::ranged1d::{Ranged, ValueFormatter};
use plotters::coord::types::RangedCoordf64;
use plotters::prelude::*;
use plotters::style::{FontStyle, register_font};

/// Width of the figure in pixels.
const WIDTH: u32 = 1200;
/// Height of the figure in pixels.
const HEIGHT: u32 = 500;
/// Family name the figure's text is registered under. A name of its own rather than plotters'
/// default `sans-serif`: nothing registers that, so any text left in the default style fails
/// loudly (in the tests) instead of silently depending on some other registration.
const FAMILY: &str = "upres-plot";
/// Line colours, one per dataset (matplotlib's `tab10`: distinct, and readable on white).
const COLORS: [RGBColor; 10] = [
    RGBColor(31, 119, 180),
    RGBColor(255, 127, 14),
    RGBColor(44, 160, 44),
    RGBColor(214, 39, 40),
    RGBColor(148, 103, 189),
    RGBColor(140, 86, 75),
    RGBColor(227, 119, 194),
    RGBColor(127, 127, 127),
    RGBColor(188, 189, 34),
    RGBColor(23, 190, 207),
];
/// Below this many points a series also marks each point, so that a lone one is visible.
const MARKED_POINTS: usize = 30;

/// One row of `train.csv`: the mean loss since the previous row.
#[derive(Debug, Clone, PartialEq)]
pub struct TrainRow {
    /// Iteration the row was written at.
    pub iteration: usize,
    /// Mean training loss since the previous row.
    pub loss: f64,
    /// Learning rate at `iteration`.
    pub lr: f64,
    /// Seconds of training so far.
    pub seconds: f64,
}

/// One row of `validation.csv`: the mean scores on one dataset.
#[derive(Debug, Clone, PartialEq)]
pub struct ValidationRow {
    /// Iteration the validation ran at.
    pub iteration: usize,
    /// Name of the validation dataset.
    pub dataset: String,
    /// Mean Y-channel PSNR in dB.
    pub psnr: f64,
    /// Mean SSIM.
    pub ssim: f64,
}

/// Rows of the CSV logs: `train.csv` lines are `iteration,loss,lr,seconds`; `validation.csv`
/// lines are `iteration,dataset,psnr,ssim`.
pub trait Row {
    /// Iteration the row belongs to.
    fn iteration(&self) -> usize;
}

impl Row for TrainRow {
    fn iteration(&self) -> usize {
        self.iteration
    }
}

impl Row for ValidationRow {
    fn iteration(&self) -> usize {
        self.iteration
    }
}

impl FromStr for TrainRow {
    type Err = String;

    /// Parses one `iteration,loss,lr,seconds` line.
    fn from_str(line: &str) -> Result<Self, String> {
        let fields: Vec<&str> = line.trim().split(',').map(str::trim).collect();
        let [iteration, loss, lr, seconds] = fields[..] else {
            return Err(format!(
                "expected `iteration,loss,lr,seconds`, got {line:?}"
            ));
        };
        Ok(Self {
            iteration: field(iteration, "iteration", line)?,
            loss: field(loss, "loss", line)?,
            lr: field(lr, "lr", line)?,
            seconds: field(seconds, "seconds", line)?,
        })
    }
}

impl FromStr for ValidationRow {
    type Err = String;

    /// Parses one `iteration,dataset,psnr,ssim` line. The dataset is everything between the
    /// first and the last two fields, so a name containing a comma still reads back.
    fn from_str(line: &str) -> Result<Self, String> {
        let malformed = || format!("expected `iteration,dataset,psnr,ssim`, got {line:?}");
        let (iteration, rest) = line.trim().split_once(',').ok_or_else(malformed)?;
        let mut tail = rest.rsplitn(3, ',');
        let (Some(ssim), Some(psnr), Some(dataset)) = (tail.next(), tail.next(), tail.next())
        else {
            return Err(malformed());
        };
        let dataset = dataset.trim();
        if dataset.is_empty() {
            return Err(malformed());
        }
        Ok(Self {
            iteration: field(iteration.trim(), "iteration", line)?,
            dataset: dataset.to_string(),
            psnr: field(psnr.trim(), "psnr", line)?,
            ssim: field(ssim.trim(), "ssim", line)?,
        })
    }
}

fn field<T: FromStr>(text: &str, name: &str, line: &str) -> Result<T, String> {
    text.parse()
        .map_err(|_| format!("bad {name} {text:?} in {line:?}"))
}

/// Draws `progress.png`-style figure at `path` (PNG, 1200x500): left panel training loss
/// (log-scale y) vs iteration, right panel validation Y-PSNR (dB) vs iteration, one line per
/// dataset with a legend; axis labels and a title. Empty inputs produce a valid image with empty
/// panels (no error). The file is replaced atomically, so a reader never sees a partial image.
/// Returns a one-line error message on failure.
pub fn draw(train: &[TrainRow], validation: &[ValidationRow], path: &Path) -> Result<(), String> {
    let mut pixels = vec![0u8; WIDTH as usize * HEIGHT as usize * 3];
    render(&mut pixels, train, validation, font())
        .map_err(|e| format!("{}: cannot draw the plot: {e}", path.display()))?;
    write_png(&pixels, path).map_err(|e| format!("{}: {e}", path.display()))
}

/// A candidate of an architecture search on the speed/quality plane.
#[derive(Debug, Clone, PartialEq)]
pub struct SearchPoint {
    /// Short name drawn beside front points.
    pub label: String,
    /// Milliseconds per output megapixel on this CPU.
    pub ms_per_megapixel: f64,
    /// Validation Y-PSNR.
    pub psnr: f64,
    /// Whether no other candidate is both faster and better.
    pub on_front: bool,
}

/// Draws candidates as points, the Pareto front as a labelled line, and the latency budget as
/// a vertical line, to `path` (PNG, written to a temporary file and renamed).
pub fn draw_search(points: &[SearchPoint], budget: f64, path: &Path) -> Result<(), String> {
    let mut pixels = vec![0u8; WIDTH as usize * HEIGHT as usize * 3];
    render_search(&mut pixels, points, budget, font())
        .map_err(|e| format!("{}: cannot draw the plot: {e}", path.display()))?;
    write_png(&pixels, path).map_err(|e| format!("{}: {e}", path.display()))
}

fn render_search(
    pixels: &mut [u8],
    points: &[SearchPoint],
    budget: f64,
    font: Option<&str>,
) -> Result<(), String> {
    let root = BitMapBackend::with_buffer(pixels, (WIDTH, HEIGHT)).into_drawing_area();
    root.fill(&WHITE).map_err(text)?;
    let (_, fastest) = bounds(points.iter().map(|p| p.ms_per_megapixel)).unwrap_or((0.0, 1.0));
    let right = fastest.max(budget) * 1.08;
    let (low, high) = bounds(points.iter().map(|p| p.psnr)).unwrap_or((25.0, 35.0));
    let pad = (0.08 * (high - low)).max(0.2);
    let mut chart = builder(&root, "Architecture search: quality against speed", font)
        .build_cartesian_2d(0.0..right, low - pad..high + pad)
        .map_err(text)?;
    mesh(
        &mut chart,
        "ms per output megapixel (this CPU)",
        &|v: &f64| format!("{v:.0}"),
        "Set5 Y-PSNR (dB)",
        &|v: &f64| format!("{v:.1}"),
        font,
    )?;
    let budget_line = vec![(budget, low - pad), (budget, high + pad)];
    chart
        .draw_series(LineSeries::new(budget_line, COLORS[3].stroke_width(2)))
        .map_err(text)?;
    chart
        .draw_series(
            points
                .iter()
                .map(|p| Circle::new((p.ms_per_megapixel, p.psnr), 4, COLORS[7].filled())),
        )
        .map_err(text)?;
    let mut front: Vec<&SearchPoint> = points.iter().filter(|p| p.on_front).collect();
    front.sort_by(|a, b| a.ms_per_megapixel.total_cmp(&b.ms_per_megapixel));
    chart
        .draw_series(LineSeries::new(
            front.iter().map(|p| (p.ms_per_megapixel, p.psnr)),
            COLORS[0].stroke_width(2),
        ))
        .map_err(text)?;
    chart
        .draw_series(
            front
                .iter()
                .map(|p| Circle::new((p.ms_per_megapixel, p.psnr), 6, COLORS[0].filled())),
        )
        .map_err(text)?;
    if let Some(family) = font {
        chart
            .draw_series(front.iter().map(|p| {
                // Beside the marker rather than on it.
                EmptyElement::at((p.ms_per_megapixel, p.psnr))
                    + Text::new(p.label.clone(), (9, -16), (family, 14).into_font())
            }))
            .map_err(text)?;
    }
    root.present().map_err(text)
}

/// The font family to draw text in, or `None` if the font could not be loaded, in which case
/// the figure is drawn without text rather than not at all.
fn font() -> Option<&'static str> {
    // The font ships inside a dependency, so plots look the same on every machine and no system
    // font lookup (fontconfig) is needed.
    static REGISTERED: OnceLock<bool> = OnceLock::new();
    REGISTERED
        .get_or_init(|| {
            register_font(
                FAMILY,
                FontStyle::Normal,
                epaint_default_fonts::UBUNTU_LIGHT,
            )
            .is_ok()
        })
        .then_some(FAMILY)
}

/// Draws the figure into an RGB buffer of `WIDTH` x `HEIGHT`; with `font` `None` no text is
/// drawn at all.
fn render(
    pixels: &mut [u8],
    train: &[TrainRow],
    validation: &[ValidationRow],
    font: Option<&str>,
) -> Result<(), String> {
    let root = BitMapBackend::with_buffer(pixels, (WIDTH, HEIGHT)).into_drawing_area();
    root.fill(&WHITE).map_err(text)?;
    let body = match font {
        Some(family) => root
            .titled(&title(train, validation), (family, 24))
            .map_err(text)?,
        None => root.margin(30, 0, 0, 0),
    };
    let (left, right) = body.split_horizontally(WIDTH / 2);
    // Both panels share the iteration axis so that they line up when compared.
    // A little room on the right keeps the last validation's marker inside the frame; at least
    // 10 iterations so that an empty run still gets whole-numbered ticks.
    let last = train
        .iter()
        .map(Row::iteration)
        .chain(validation.iter().map(Row::iteration))
        .max()
        .unwrap_or(0)
        .max(10);
    let iterations = 0.0..last as f64 * 1.02;
    loss_panel(&left, train, iterations.clone(), font)?;
    psnr_panel(&right, validation, iterations, font)?;
    root.present().map_err(text)
}

fn title(train: &[TrainRow], validation: &[ValidationRow]) -> String {
    let last = train
        .iter()
        .map(Row::iteration)
        .chain(validation.iter().map(Row::iteration))
        .max();
    match last {
        Some(iteration) => format!("Training progress (iteration {iteration})"),
        None => "Training progress".to_string(),
    }
}

fn loss_panel(
    area: &DrawingArea<BitMapBackend<'_>, Shift>,
    train: &[TrainRow],
    iterations: Range<f64>,
    font: Option<&str>,
) -> Result<(), String> {
    // A log scale cannot show zero, negative or non-finite losses (a diverged step); they are
    // left out rather than breaking the whole plot.
    let mut points: Vec<(f64, f64)> = train
        .iter()
        .filter(|r| r.loss.is_finite() && r.loss > 0.0)
        .map(|r| (r.iteration as f64, r.loss))
        .collect();
    points.sort_by(|a, b| a.0.total_cmp(&b.0));
    let (low, high) = bounds(points.iter().map(|p| p.1)).unwrap_or((0.01, 1.0));
    // A little headroom keeps the curve off the frame when it ends on a tick.
    let (range, bold, light) = log_ticks(low / 1.05, high * 1.05);
    let losses = range
        .log_scale()
        .with_key_points(bold)
        .with_light_points(light);
    let mut chart = builder(area, "Training loss", font)
        .build_cartesian_2d(iterations, losses)
        .map_err(text)?;
    mesh(
        &mut chart,
        "iteration",
        &format_iteration,
        "loss",
        &format_loss,
        font,
    )?;
    let marker = if points.len() < MARKED_POINTS { 3 } else { 0 };
    chart
        .draw_series(LineSeries::new(points, COLORS[0].stroke_width(2)).point_size(marker))
        .map_err(text)?;
    Ok(())
}

fn psnr_panel(
    area: &DrawingArea<BitMapBackend<'_>, Shift>,
    validation: &[ValidationRow],
    iterations: Range<f64>,
    font: Option<&str>,
) -> Result<(), String> {
    // One series per dataset, in the order the datasets first appear in the log.
    let mut series: Vec<(&str, Vec<(f64, f64)>)> = Vec::new();
    for row in validation.iter().filter(|r| r.psnr.is_finite()) {
        let point = (row.iteration as f64, row.psnr);
        match series.iter_mut().find(|(name, _)| *name == row.dataset) {
            Some((_, points)) => points.push(point),
            None => series.push((&row.dataset, vec![point])),
        }
    }
    for (_, points) in &mut series {
        points.sort_by(|a, b| a.0.total_cmp(&b.0));
    }
    let (low, high) =
        bounds(series.iter().flat_map(|(_, p)| p.iter().map(|p| p.1))).unwrap_or((25.0, 35.0));
    let pad = (0.05 * (high - low)).max(0.5);
    let mut chart = builder(area, "Validation Y-PSNR", font)
        .build_cartesian_2d(iterations, low - pad..high + pad)
        .map_err(text)?;
    mesh(
        &mut chart,
        "iteration",
        &format_iteration,
        "Y-PSNR (dB)",
        &|v: &f64| format!("{v:.1}"),
        font,
    )?;
    for (i, (name, points)) in series.into_iter().enumerate() {
        let color = COLORS[i % COLORS.len()];
        let marker = if points.len() < MARKED_POINTS { 3 } else { 0 };
        let drawn = chart
            .draw_series(LineSeries::new(points, color.stroke_width(2)).point_size(marker))
            .map_err(text)?;
        if font.is_some() {
            drawn.label(name).legend(move |(x, y)| {
                PathElement::new(vec![(x, y), (x + 20, y)], color.stroke_width(2))
            });
        }
    }
    if let Some(family) = font
        && !validation.is_empty()
    {
        chart
            .configure_series_labels()
            .position(SeriesLabelPosition::LowerRight)
            .label_font((family, 15))
            .background_style(WHITE.mix(0.8))
            .border_style(BLACK.mix(0.5))
            .draw()
            .map_err(text)?;
    }
    Ok(())
}

/// A chart builder for one panel; without a font it keeps the same plotting area but draws no
/// caption or label areas, which are where plotters draws text.
fn builder<'a, 'b>(
    area: &'a DrawingArea<BitMapBackend<'b>, Shift>,
    caption: &str,
    font: Option<&'a str>,
) -> ChartBuilder<'a, 'a, BitMapBackend<'b>> {
    let mut builder = ChartBuilder::on(area);
    builder.margin(15);
    match font {
        Some(family) => {
            builder
                .caption(caption, (family, 20))
                .x_label_area_size(50)
                .y_label_area_size(75);
        }
        None => {
            builder.margin_top(40).margin_bottom(65).margin_left(90);
        }
    }
    builder
}

/// Draws the grid, axis labels and a frame around the plotting area.
fn mesh<Y>(
    chart: &mut ChartContext<'_, BitMapBackend<'_>, Cartesian2d<RangedCoordf64, Y>>,
    x_desc: &str,
    x_format: &dyn Fn(&f64) -> String,
    y_desc: &str,
    y_format: &dyn Fn(&f64) -> String,
    font: Option<&str>,
) -> Result<(), String>
where
    Y: Ranged<ValueType = f64> + ValueFormatter<f64>,
{
    let mut mesh = chart.configure_mesh();
    mesh.bold_line_style(BLACK.mix(0.15))
        .light_line_style(BLACK.mix(0.05));
    if let Some(family) = font {
        mesh.x_desc(x_desc)
            .y_desc(y_desc)
            .label_style((family, 14))
            .axis_desc_style((family, 16))
            .x_label_formatter(x_format)
            .y_label_formatter(y_format);
    }
    mesh.draw().map_err(text)?;
    let plot = chart.plotting_area().strip_coord_spec();
    let (w, h) = plot.dim_in_pixel();
    plot.draw(&Rectangle::new(
        [(0, 0), (w as i32 - 1, h as i32 - 1)],
        BLACK.mix(0.6),
    ))
    .map_err(text)
}

/// Iterations as tick labels: `250k` reads faster than `250000`.
fn format_iteration(v: &f64) -> String {
    let v = v.round();
    if v.abs() >= 1e6 && v % 1e5 == 0.0 {
        format!("{}M", v / 1e6)
    } else if v.abs() >= 1e3 && v % 100.0 == 0.0 {
        format!("{}k", v / 1e3)
    } else {
        format!("{v}")
    }
}

/// Losses as tick labels: plain decimals in the usual range, exponents beyond it.
fn format_loss(v: &f64) -> String {
    if (1e-3..1e4).contains(&v.abs()) {
        let s = format!("{v:.4}");
        let s = s.trim_end_matches('0').trim_end_matches('.');
        s.to_string()
    } else {
        format!("{v:.0e}")
    }
}

/// A log-scale axis for positive values in `low..=high`: the range widened to the nearest
/// `m * 10^k` (m in 1..=9) on either side, its bold ticks (at most 10 where possible) and its
/// light grid lines. Plotters' own log ticks start only at a power of ten, so a range inside one
/// decade (a typical late-training loss) would get no tick labels at all.
fn log_ticks(low: f64, high: f64) -> (Range<f64>, Vec<f64>, Vec<f64>) {
    let decades = low.log10().floor() as i32 - 1..=high.log10().ceil() as i32 + 1;
    let steps = |multipliers: &[u32]| -> Vec<f64> {
        decades
            .clone()
            .flat_map(|k| {
                multipliers
                    .iter()
                    .map(move |&m| f64::from(m) * 10f64.powi(k))
            })
            .collect()
    };
    const ALL: [u32; 9] = [1, 2, 3, 4, 5, 6, 7, 8, 9];
    // The tolerance absorbs rounding in `m * 10^k`, which is rarely exact.
    let eps = 1e-9;
    let all = steps(&ALL);
    let start = all
        .iter()
        .rev()
        .find(|&&v| v <= low * (1.0 + eps))
        .map_or(low, |&v| v);
    let end = all
        .iter()
        .find(|&&v| v >= high * (1.0 - eps))
        .map_or(high, |&v| v);
    let within = |v: &f64| (start * (1.0 - eps)..=end * (1.0 + eps)).contains(v);
    let light: Vec<f64> = all.iter().copied().filter(within).collect();
    let mut bold = Vec::new();
    for multipliers in [&ALL[..], &[1, 2, 5], &[1]] {
        bold = steps(multipliers).into_iter().filter(within).collect();
        if bold.len() <= 10 {
            break;
        }
    }
    (start..end, bold, light)
}

/// The smallest and largest of `values`, or `None` if there are none.
fn bounds(values: impl Iterator<Item = f64>) -> Option<(f64, f64)> {
    values.fold(None, |acc, v| match acc {
        None => Some((v, v)),
        Some((low, high)) => Some((low.min(v), high.max(v))),
    })
}

fn text(e: impl Display) -> String {
    e.to_string()
}

/// Encodes `pixels` as PNG next to `path` and renames it into place, so that an interrupted
/// write never leaves a truncated image where the old one was.
fn write_png(pixels: &[u8], path: &Path) -> Result<(), String> {
    let mut bytes = Vec::new();
    {
        let mut encoder = png::Encoder::new(&mut bytes, WIDTH, HEIGHT);
        encoder.set_color(png::ColorType::Rgb);
        encoder.set_depth(png::BitDepth::Eight);
        let mut writer = encoder.write_header().map_err(text)?;
        writer.write_image_data(pixels).map_err(text)?;
        writer.finish().map_err(text)?;
    }
    let temp = temp_path(path);
    let result = File::create(&temp)
        .and_then(|mut file| {
            file.write_all(&bytes)?;
            file.sync_all()
        })
        .and_then(|()| fs::rename(&temp, path));
    result.map_err(|e| {
        // Best effort: the write already failed, and a leftover temporary file is only clutter.
        let _ = fs::remove_file(&temp);
        e.to_string()
    })
}

/// A temporary name in `path`'s folder (so the rename stays on one file system), unique within
/// and across processes so that concurrent writers do not clobber each other's files.
fn temp_path(path: &Path) -> PathBuf {
    static COUNTER: AtomicUsize = AtomicUsize::new(0);
    let name = path
        .file_name()
        .map_or_else(|| "plot".into(), |n| n.to_string_lossy());
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    path.with_file_name(format!(".{name}.{}-{n}.tmp", std::process::id()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn train_rows() -> Vec<TrainRow> {
        (1..=200)
            .map(|i| TrainRow {
                iteration: i * 500,
                loss: 0.05 * (-(i as f64) / 60.0).exp() + 0.01,
                lr: 2e-4,
                seconds: i as f64 * 10.0,
            })
            .collect()
    }

    fn validation_rows() -> Vec<ValidationRow> {
        let mut rows = Vec::new();
        for i in 1..=20 {
            for (dataset, base) in [("Set5", 30.0), ("Set14", 27.5), ("Urban100", 25.0)] {
                rows.push(ValidationRow {
                    iteration: i * 5000,
                    dataset: dataset.to_string(),
                    psnr: base + 2.0 * (1.0 - (-(i as f64) / 6.0).exp()),
                    ssim: 0.8,
                });
            }
        }
        rows
    }

    /// Decodes a PNG, returning its size and pixels.
    fn decode(path: &Path) -> ((u32, u32), Vec<u8>) {
        let decoder = png::Decoder::new(std::io::BufReader::new(File::open(path).unwrap()));
        let mut reader = decoder.read_info().unwrap();
        let mut buf = vec![0; reader.output_buffer_size().unwrap()];
        let info = reader.next_frame(&mut buf).unwrap();
        buf.truncate(info.buffer_size());
        ((info.width, info.height), buf)
    }

    fn files_in(dir: &Path) -> Vec<String> {
        let mut names: Vec<String> = fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        names
    }

    #[test]
    fn rows_parse_from_csv_lines() {
        let row: TrainRow = "1500,0.0213,0.0002,93.5".parse().unwrap();
        assert_eq!(
            row,
            TrainRow {
                iteration: 1500,
                loss: 0.0213,
                lr: 2e-4,
                seconds: 93.5
            }
        );
        let row: ValidationRow = "5000,Set5,31.2345,0.88123\r".parse().unwrap();
        assert_eq!(
            row,
            ValidationRow {
                iteration: 5000,
                dataset: "Set5".to_string(),
                psnr: 31.2345,
                ssim: 0.88123
            }
        );
        assert_eq!(row.iteration(), 5000);
        let row: ValidationRow = "10,a,b,30,0.9".parse().unwrap();
        assert_eq!(row.dataset, "a,b");
    }

    #[test]
    fn bad_lines_are_errors() {
        for line in [
            "",
            "iteration,loss,lr,seconds",
            "1,2,3",
            "1,2,3,4,5",
            "-1,0.1,0.1,1",
            "1,x,0.1,1",
            "1.5,0.1,0.1,1",
        ] {
            assert!(line.parse::<TrainRow>().is_err(), "{line:?}");
        }
        for line in [
            "",
            "iteration,dataset,psnr,ssim",
            "1,Set5,30",
            "1,,30,0.9",
            "x,Set5,30,0.9",
            "1,Set5,thirty,0.9",
            "1,Set5,30,",
        ] {
            assert!(line.parse::<ValidationRow>().is_err(), "{line:?}");
        }
    }

    #[test]
    fn draws_a_png_of_the_expected_size() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("progress.png");
        draw(&train_rows(), &validation_rows(), &path).unwrap();
        let (size, pixels) = decode(&path);
        assert_eq!(size, (WIDTH, HEIGHT));
        assert!(pixels.iter().any(|&p| p != 255), "the image is blank");
        assert_eq!(files_in(dir.path()), ["progress.png"]);
        // Redrawing replaces the image in place.
        draw(&train_rows()[..10], &validation_rows()[..3], &path).unwrap();
        assert_eq!(decode(&path).0, (WIDTH, HEIGHT));
        assert_eq!(files_in(dir.path()), ["progress.png"]);
    }

    #[test]
    fn empty_and_degenerate_rows_draw_empty_panels() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("progress.png");
        draw(&[], &[], &path).unwrap();
        assert_eq!(decode(&path).0, (WIDTH, HEIGHT));
        let train = [TrainRow {
            iteration: 0,
            loss: f64::NAN,
            lr: 0.0,
            seconds: 0.0,
        }];
        let validation = [ValidationRow {
            iteration: 0,
            dataset: "Set5".to_string(),
            psnr: f64::INFINITY,
            ssim: 0.0,
        }];
        draw(&train, &validation, &path).unwrap();
        assert_eq!(decode(&path).0, (WIDTH, HEIGHT));
        assert_eq!(files_in(dir.path()), ["progress.png"]);
    }

    #[test]
    fn draws_without_text_when_no_font_loads() {
        let mut pixels = vec![0u8; WIDTH as usize * HEIGHT as usize * 3];
        render(&mut pixels, &train_rows(), &validation_rows(), None).unwrap();
        assert!(pixels.iter().any(|&p| p != 255));
        render(&mut pixels, &[], &[], None).unwrap();
    }

    #[test]
    fn the_font_loads() {
        assert_eq!(font(), Some(FAMILY));
    }

    #[test]
    fn a_failed_write_is_an_error_and_leaves_nothing_behind() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("missing").join("progress.png");
        let message = draw(&train_rows(), &[], &path).unwrap_err();
        assert!(!message.contains('\n'), "{message}");
        assert!(message.contains("progress.png"), "{message}");
        assert_eq!(files_in(dir.path()), Vec::<String>::new());
    }

    #[test]
    fn tick_labels_are_compact() {
        assert_eq!(format_iteration(&250_000.0), "250k");
        assert_eq!(format_iteration(&1_500_000.0), "1.5M");
        assert_eq!(format_iteration(&750.0), "750");
        assert_eq!(format_loss(&0.02), "0.02");
        assert_eq!(format_loss(&1e-5), "1e-5");
    }

    #[test]
    fn log_ticks_label_ranges_within_one_decade() {
        let close = |a: &[f64], b: &[f64]| {
            a.len() == b.len() && a.iter().zip(b).all(|(x, y)| (x - y).abs() < 1e-12)
        };
        let (range, bold, _) = log_ticks(0.021, 0.048);
        assert!((range.start - 0.02).abs() < 1e-12 && (range.end - 0.05).abs() < 1e-12);
        assert!(close(&bold, &[0.02, 0.03, 0.04, 0.05]), "{bold:?}");
        // A single value still gets a tick at each end.
        let (range, bold, _) = log_ticks(0.0145, 0.0145);
        assert!(close(&[range.start, range.end], &[0.01, 0.02]));
        assert_eq!(bold.len(), 2);
        // Wide ranges thin out to 1-2-5 and then to whole decades.
        let (_, bold, light) = log_ticks(0.0011, 0.9);
        assert!(close(&bold[..3], &[0.001, 0.002, 0.005]), "{bold:?}");
        assert_eq!(light.len(), 27);
        let (_, bold, _) = log_ticks(1e-7, 10.0);
        assert_eq!(bold.len(), 9);
    }
}
