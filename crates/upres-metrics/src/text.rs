//! Text as a benchmark: pages of rendered text at a known resolution, and what matters when
//! a scan of text is upscaled besides PSNR: whether edges stay sharp and whether each
//! character can still be told from the others.
//!
//! Two character-level checks: a real OCR engine, Tesseract (Debian's `tesseract-ocr`, run
//! as a process), whose character error rate against the known text is what a reader of the
//! upscaled scan meets; and a check that needs no engine, since text is set in a monospaced
//! font on a fixed grid: each cell of the upscaled page is classified as the character whose
//! clean rendering (at the high resolution, in the same place) it correlates with best.
//! Blur that merges `e` into `c` or `l` into `1` costs both; so do invented strokes.

use std::io::Write;
use std::path::Path;
use std::process::{Command, Stdio};

use ab_glyph::{Font, FontVec, PxScale, ScaleFont, point};
use rand::rngs::ChaCha8Rng;
use rand::{RngExt, SeedableRng};
use upres_image::degrade::TestDegradation;
use upres_image::{Depth, Image, ImageError, Layout, Upscaler, io};

use crate::protocol::{Protocol, Scores, compare};

/// The characters pages are set in: letters, digits and common punctuation.
pub const CHARSET: &str =
    "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.,;:!?'\"()-/";

/// Debian's `fonts-dejavu-core` monospaced font, the default face.
pub const DEFAULT_FONT: &str = "/usr/share/fonts/truetype/dejavu/DejaVuSansMono.ttf";

/// A font, and the grid its pages are set on.
pub struct TextFont {
    font: FontVec,
    size: f32,
    /// Cell width and height in pixels (whole pixels, so every glyph sits at a whole-pixel
    /// origin and renders the same wherever it is).
    cell: (usize, usize),
    ascent: f32,
    /// Every [`CHARSET`] character drawn alone in a cell, [`centred`]: what the character
    /// check compares cells with.
    templates: Vec<(char, Vec<f32>)>,
}

impl TextFont {
    /// Loads a TrueType/OpenType font for text `size` pixels high (its em).
    pub fn open(path: &Path, size: f32) -> Result<Self, ImageError> {
        let bytes = std::fs::read(path).map_err(|e| {
            ImageError::InvalidArgument(format!("cannot read font {}: {e}", path.display()))
        })?;
        let font = FontVec::try_from_vec(bytes).map_err(|_| {
            ImageError::InvalidArgument(format!("{} is not a TrueType font", path.display()))
        })?;
        if !(4.0..=256.0).contains(&size) {
            return Err(ImageError::InvalidArgument(format!(
                "text size {size} px: expected 4 to 256"
            )));
        }
        let scaled = font.as_scaled(PxScale::from(size));
        let advance = CHARSET
            .chars()
            .map(|c| scaled.h_advance(font.glyph_id(c)))
            .fold(0.0f32, f32::max);
        let (ascent, height) = (scaled.ascent(), scaled.height() + scaled.line_gap());
        let mut font = Self {
            cell: (advance.ceil() as usize, height.ceil() as usize),
            ascent: ascent.round(),
            font,
            size,
            templates: Vec::new(),
        };
        let (cw, ch) = font.cell;
        font.templates = CHARSET
            .chars()
            .map(|c| {
                let mut cell = blank(cw, ch)?;
                font.draw(&mut cell, c, 0, 0);
                cell.quantize();
                let samples: Vec<f32> = cell.data().iter().map(|v| v / 255.0).collect();
                Ok((c, centred(&samples)))
            })
            .collect::<Result<_, ImageError>>()?;
        Ok(font)
    }

    /// Cell width and height in pixels.
    pub fn cell(&self) -> (usize, usize) {
        self.cell
    }

    /// Draws `c` into `page` (gray, white 255 background) with its cell at `(x, y)`.
    fn draw(&self, page: &mut Image, c: char, x: usize, y: usize) {
        if c == ' ' {
            return;
        }
        let glyph = self.font.glyph_id(c).with_scale_and_position(
            PxScale::from(self.size),
            point(x as f32, y as f32 + self.ascent),
        );
        let Some(outline) = self.font.outline_glyph(glyph) else {
            return;
        };
        let bounds = outline.px_bounds();
        let (w, h) = (page.width() as i64, page.height() as i64);
        let data = page.data_mut();
        outline.draw(|gx, gy, coverage| {
            let px = bounds.min.x as i64 + gx as i64;
            let py = bounds.min.y as i64 + gy as i64;
            if (0..w).contains(&px) && (0..h).contains(&py) {
                let v = &mut data[(py * w + px) as usize];
                *v = v.min(255.0 * (1.0 - coverage.clamp(0.0, 1.0)));
            }
        });
    }
}

/// A white 8-bit gray image.
fn blank(width: usize, height: usize) -> Result<Image, ImageError> {
    Image::new(
        width,
        height,
        Layout::Gray,
        Depth::U8,
        vec![255.0; width * height],
    )
}

/// How a page is laid out.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PageLayout {
    /// Characters per line.
    pub columns: usize,
    /// Lines per page.
    pub rows: usize,
    /// Blank border in pixels.
    pub margin: usize,
}

impl Default for PageLayout {
    fn default() -> Self {
        Self {
            columns: 40,
            rows: 16,
            margin: 12,
        }
    }
}

/// A rendered page and the text on it.
pub struct TextPage {
    /// Black text on white, 8-bit gray.
    pub image: Image,
    /// The characters, line by line (`rows x columns`, spaces included).
    pub text: Vec<char>,
    layout: PageLayout,
    cell: (usize, usize),
}

impl TextPage {
    /// Sets words of random characters from [`CHARSET`] (1 to 9 long, one space apart) on
    /// `layout`'s grid; the same `seed` gives the same page.
    pub fn render(font: &TextFont, layout: PageLayout, seed: u64) -> Result<Self, ImageError> {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let charset: Vec<char> = CHARSET.chars().collect();
        let mut text = Vec::with_capacity(layout.rows * layout.columns);
        for _ in 0..layout.rows {
            let mut line = Vec::with_capacity(layout.columns);
            while line.len() < layout.columns {
                let word = rng.random_range(1..=9usize);
                line.extend((0..word).map(|_| charset[rng.random_range(0..charset.len())]));
                line.push(' ');
            }
            line.truncate(layout.columns);
            text.extend(line);
        }
        let (cw, ch) = font.cell;
        // Sides divisible by 2, 3 and 4, so that benchmarks need not crop.
        let width = (2 * layout.margin + layout.columns * cw).next_multiple_of(12);
        let height = (2 * layout.margin + layout.rows * ch).next_multiple_of(12);
        let mut page = Self {
            text,
            layout,
            cell: font.cell,
            image: blank(width, height)?,
        };
        for (i, &c) in page.text.iter().enumerate() {
            let (x, y) = page.cell_origin(i);
            font.draw(&mut page.image, c, x, y);
        }
        page.image.quantize();
        Ok(page)
    }

    /// The top-left pixel of character `i`'s cell.
    fn cell_origin(&self, i: usize) -> (usize, usize) {
        let (row, col) = (i / self.layout.columns, i % self.layout.columns);
        (
            self.layout.margin + col * self.cell.0,
            self.layout.margin + row * self.cell.1,
        )
    }

    /// The samples of cell `i` of `image` (gray, or RGB read as its mean), in [0, 1].
    fn cell_samples(&self, image: &Image, i: usize) -> Vec<f32> {
        let (x0, y0) = self.cell_origin(i);
        let c = image.channels();
        let max = image.depth().max_value();
        let mut out = Vec::with_capacity(self.cell.0 * self.cell.1);
        for y in y0..y0 + self.cell.1 {
            let row = &image.data()[(y * image.width() + x0) * c..];
            for px in row.chunks_exact(c).take(self.cell.0) {
                let color = if c >= 3 { &px[..3] } else { &px[..1] };
                out.push(color.iter().sum::<f32>() / color.len() as f32 / max);
            }
        }
        out
    }

    /// The fraction of the page's characters (spaces excepted) that `restored` (an image of
    /// the page's size) shows more like their own clean rendering than any other
    /// character's, by normalised cross-correlation (which a uniform loss of contrast does not
    /// change, so a faint glyph is not mistaken for a sparse one).
    pub fn character_accuracy(&self, restored: &Image, font: &TextFont) -> Result<f64, ImageError> {
        if (restored.width(), restored.height()) != (self.image.width(), self.image.height()) {
            return Err(ImageError::InvalidArgument(format!(
                "a {}x{} image is not a restored {}x{} page",
                restored.width(),
                restored.height(),
                self.image.width(),
                self.image.height()
            )));
        }
        let (mut right, mut total) = (0usize, 0usize);
        for (i, &truth) in self.text.iter().enumerate() {
            if truth == ' ' {
                continue;
            }
            let cell = centred(&self.cell_samples(restored, i));
            let best = font
                .templates
                .iter()
                .max_by(|a, b| correlation(&a.1, &cell).total_cmp(&correlation(&b.1, &cell)))
                .map(|t| t.0);
            total += 1;
            right += usize::from(best == Some(truth));
        }
        Ok(right as f64 / total.max(1) as f64)
    }

    /// The page's text as OCR should read it: one line per row, words one space apart.
    pub fn lines(&self) -> String {
        self.text
            .chunks(self.layout.columns)
            .map(|row| normalise_line(&row.iter().collect::<String>()))
            .collect::<Vec<_>>()
            .join("\n")
    }

    /// Tesseract's character error rate on `restored`: the edit distance between what it
    /// reads (as a block of text, `--psm 6`, English model) and the page's text, over the
    /// text's length. Spaces are collapsed on both sides; empty lines dropped.
    pub fn ocr_error_rate(&self, restored: &Image) -> Result<f64, ImageError> {
        let png = io::encode(restored, &Default::default(), io::Format::Png, 95)
            .map_err(ImageError::InvalidArgument)?;
        let read = run_tesseract(&png)?;
        let read: Vec<String> = read
            .lines()
            .map(normalise_line)
            .filter(|l| !l.is_empty())
            .collect();
        let truth = self.lines();
        let distance = edit_distance(&read.join("\n"), &truth);
        Ok(distance as f64 / truth.chars().count().max(1) as f64)
    }
}

/// Whether Tesseract can be run.
pub fn tesseract_available() -> bool {
    Command::new("tesseract")
        .arg("--version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// Runs `tesseract stdin stdout` on PNG bytes and returns what it read.
fn run_tesseract(png: &[u8]) -> Result<String, ImageError> {
    let failed = |reason: String| ImageError::InvalidArgument(format!("tesseract: {reason}"));
    let mut child = Command::new("tesseract")
        .args(["stdin", "stdout", "--psm", "6", "-l", "eng"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| failed(format!("{e} (install Debian's tesseract-ocr)")))?;
    let mut stdin = child.stdin.take().expect("piped stdin");
    let writer = std::thread::scope(|s| {
        let writer = s.spawn(move || stdin.write_all(png));
        let out = child.wait_with_output();
        (writer.join(), out)
    });
    let out = match writer {
        (Ok(Ok(())), Ok(out)) => out,
        (_, Err(e)) | (Ok(Err(e)), _) => return Err(failed(e.to_string())),
        (Err(_), _) => return Err(failed("the writer thread panicked".into())),
    };
    if !out.status.success() {
        let stderr = String::from_utf8_lossy(&out.stderr);
        return Err(failed(
            stderr.lines().last().unwrap_or("failed").to_string(),
        ));
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

/// A line with its words one space apart and no space at either end.
fn normalise_line(line: &str) -> String {
    line.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Levenshtein distance in characters.
fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut diagonal = row[0];
        row[0] = i + 1;
        for (j, &cb) in b.iter().enumerate() {
            let next = (diagonal + usize::from(ca != cb))
                .min(row[j] + 1)
                .min(row[j + 1] + 1);
            diagonal = row[j + 1];
            row[j + 1] = next;
        }
    }
    row[b.len()]
}

/// `v` less its mean, scaled to unit length (zero if `v` is flat).
fn centred(v: &[f32]) -> Vec<f32> {
    let mean = v.iter().sum::<f32>() / v.len().max(1) as f32;
    let norm = v
        .iter()
        .map(|x| (x - mean) * (x - mean))
        .sum::<f32>()
        .sqrt();
    let norm = if norm > 0.0 { norm } else { 1.0 };
    v.iter().map(|x| (x - mean) / norm).collect()
}

/// The normalised cross-correlation of two [`centred`] vectors.
fn correlation(a: &[f32], b: &[f32]) -> f32 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

/// A method's mean scores over rendered pages.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct TextScores {
    /// The method's name.
    pub method: String,
    /// Upscaling factor.
    pub scale: usize,
    /// Pages scored.
    pub pages: usize,
    /// Mean Y-PSNR and SSIM under the papers' protocol.
    pub mean: Scores,
    /// Mean [`edge_sharpness`].
    pub sharpness: f64,
    /// Mean [`TextPage::character_accuracy`].
    pub characters: f64,
    /// Mean [`TextPage::ocr_error_rate`], when Tesseract was asked for.
    pub ocr_error: Option<f64>,
}

/// Scores `method` on the pages rendered with `seeds`: each page is made `scale` times
/// smaller with MATLAB's bicubic, upscaled back by the method and rounded to 8 bits, as a
/// saved file would be; with `ocr`, Tesseract reads every page too.
pub fn evaluate_text(
    method: &dyn Upscaler,
    font: &TextFont,
    layout: PageLayout,
    seeds: std::ops::Range<u64>,
    scale: usize,
    ocr: bool,
) -> Result<TextScores, ImageError> {
    let (mut psnr, mut ssim, mut sharpness, mut characters) = (0.0, 0.0, 0.0, 0.0);
    let mut ocr_error = 0.0;
    let pages = seeds.end.saturating_sub(seeds.start) as usize;
    if pages == 0 {
        return Err(ImageError::InvalidArgument("no pages to score".into()));
    }
    for seed in seeds {
        let page = TextPage::render(font, layout, seed)?;
        let low = TestDegradation::Bi.apply(&page.image, scale)?;
        let mut restored = method
            .upscale(&low, scale)
            .map_err(|e| ImageError::InvalidArgument(format!("{}: {e}", method.name())))?
            .to_depth(Depth::U8);
        restored.quantize();
        let scores = compare(&restored, &page.image, Protocol::papers(scale))?;
        psnr += scores.psnr;
        ssim += scores.ssim;
        sharpness += edge_sharpness(&restored, &page.image)?;
        characters += page.character_accuracy(&restored, font)?;
        if ocr {
            ocr_error += page.ocr_error_rate(&restored)?;
        }
    }
    let n = pages as f64;
    Ok(TextScores {
        method: method.name(),
        scale,
        pages,
        mean: Scores {
            psnr: psnr / n,
            ssim: ssim / n,
        },
        sharpness: sharpness / n,
        characters: characters / n,
        ocr_error: ocr.then_some(ocr_error / n),
    })
}

/// How sharp `restored`'s edges are against `reference`'s: the mean Sobel gradient
/// magnitude of `restored` over the pixels where `reference` has a strong edge (a quarter of
/// its strongest gradient or more), divided by `reference`'s own there. 1 is as sharp as
/// the truth; blur gives less, ringing and overshoot can give more.
pub fn edge_sharpness(restored: &Image, reference: &Image) -> Result<f64, ImageError> {
    let (w, h) = (reference.width(), reference.height());
    if (restored.width(), restored.height()) != (w, h) || w < 3 || h < 3 {
        return Err(ImageError::InvalidArgument(format!(
            "cannot compare the edges of a {}x{} image with a {w}x{h} reference",
            restored.width(),
            restored.height()
        )));
    }
    let gradient = |image: &Image| -> Vec<f64> {
        let c = image.channels().min(3);
        let stride = image.channels();
        let v = |x: usize, y: usize| -> f64 {
            let p = &image.data()[(y * w + x) * stride..][..c];
            p.iter().map(|&s| f64::from(s)).sum::<f64>() / c as f64
        };
        let mut g = vec![0.0; w * h];
        for y in 1..h - 1 {
            for x in 1..w - 1 {
                let gx = v(x + 1, y - 1) + 2.0 * v(x + 1, y) + v(x + 1, y + 1)
                    - v(x - 1, y - 1)
                    - 2.0 * v(x - 1, y)
                    - v(x - 1, y + 1);
                let gy = v(x - 1, y + 1) + 2.0 * v(x, y + 1) + v(x + 1, y + 1)
                    - v(x - 1, y - 1)
                    - 2.0 * v(x, y - 1)
                    - v(x + 1, y - 1);
                g[y * w + x] = gx.hypot(gy);
            }
        }
        g
    };
    let (ours, truth) = (gradient(restored), gradient(reference));
    let strongest = truth.iter().copied().fold(0.0, f64::max);
    let (mut sum_ours, mut sum_truth) = (0.0, 0.0);
    for (o, t) in ours.iter().zip(&truth) {
        if *t >= 0.25 * strongest && *t > 0.0 {
            sum_ours += o;
            sum_truth += t;
        }
    }
    if sum_truth == 0.0 {
        return Err(ImageError::InvalidArgument(
            "the reference has no edges to compare".into(),
        ));
    }
    Ok(sum_ours / sum_truth)
}

#[cfg(test)]
mod tests {
    use super::*;
    use upres_image::Interpolation;
    use upres_image::resize::Filter;

    fn font() -> Option<TextFont> {
        let path = Path::new(DEFAULT_FONT);
        if !path.exists() {
            assert!(
                std::env::var_os("UPRES_REQUIRE_TOOLS").is_none(),
                "{DEFAULT_FONT} is missing: install Debian's fonts-dejavu-core"
            );
            eprintln!("skipping: {DEFAULT_FONT} is missing");
            return None;
        }
        Some(TextFont::open(path, 16.0).unwrap())
    }

    #[test]
    fn pages_are_reproducible_and_hold_their_text() {
        let Some(font) = font() else { return };
        let layout = PageLayout::default();
        let a = TextPage::render(&font, layout, 3).unwrap();
        let b = TextPage::render(&font, layout, 3).unwrap();
        let c = TextPage::render(&font, layout, 4).unwrap();
        assert_eq!(a.image.data(), b.image.data());
        assert_eq!(a.text, b.text);
        assert_ne!(a.text, c.text);
        assert_eq!(a.text.len(), layout.rows * layout.columns);
        let ink = a.image.data().iter().filter(|&&v| v < 128.0).count();
        let share = ink as f64 / a.image.data().len() as f64;
        assert!((0.05..0.5).contains(&share), "ink covers {share}");
    }

    #[test]
    fn the_clean_page_reads_perfectly_and_a_blurred_one_does_not() {
        let Some(font) = font() else { return };
        let page = TextPage::render(&font, PageLayout::default(), 5).unwrap();
        assert_eq!(page.character_accuracy(&page.image, &font).unwrap(), 1.0);
        assert_eq!(edge_sharpness(&page.image, &page.image).unwrap(), 1.0);
        // x4 down and nearest-neighbour up: blocky and blurred at once.
        let low = TestDegradation::Bi.apply(&page.image, 4).unwrap();
        let mut up = blank(page.image.width(), page.image.height()).unwrap();
        let lw = low.width();
        for (i, v) in up.data_mut().iter_mut().enumerate() {
            let (x, y) = (i % page.image.width() / 4, i / page.image.width() / 4);
            if x < lw && y < low.height() {
                *v = low.data()[y * lw + x];
            }
        }
        let accuracy = page.character_accuracy(&up, &font).unwrap();
        assert!(accuracy < 0.9, "x4 blur still reads {accuracy}");
        assert!(accuracy > 1.0 / CHARSET.len() as f64, "better than chance");
        assert!(edge_sharpness(&up, &page.image).unwrap() < 0.9);
    }

    #[test]
    fn edit_distance_counts_insertions_deletions_and_substitutions() {
        assert_eq!(edit_distance("kitten", "sitting"), 3);
        assert_eq!(edit_distance("", "abc"), 3);
        assert_eq!(edit_distance("abc", "abc"), 0);
        assert_eq!(normalise_line("  a  b\tc "), "a b c");
    }

    #[test]
    fn bicubic_reads_worse_as_the_scale_grows() {
        let Some(font) = font() else { return };
        let bicubic = Interpolation(Filter::Bicubic);
        let score = |scale| {
            evaluate_text(&bicubic, &font, PageLayout::default(), 0..2, scale, false).unwrap()
        };
        let (x2, x4) = (score(2), score(4));
        println!("bicubic x2 {x2:?}\nbicubic x4 {x4:?}");
        assert_eq!(x2.pages, 2);
        assert!(x2.mean.psnr > x4.mean.psnr);
        assert!(x2.sharpness > x4.sharpness && x2.sharpness < 1.0);
        assert!(x2.characters > x4.characters);
    }
}
