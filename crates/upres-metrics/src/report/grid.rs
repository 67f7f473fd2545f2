//! Side-by-side crops: one row of equally sized tiles, each a crop enlarged by repeating
//! pixels (nearest neighbour, so that every pixel a method made is visible as a square), with
//! two lines of text under it.

use std::sync::OnceLock;

use ab_glyph::{Font, FontRef, PxScale, ScaleFont, point};
use upres_image::{Depth, Image, Layout};

/// Space between tiles and around the row, in pixels.
const GAP: usize = 6;
/// Height of a text line.
const LINE: usize = 18;
/// The text's em, in pixels.
const TEXT_SIZE: f32 = 15.0;
const BACKGROUND: f32 = 255.0;
const INK: f32 = 25.0;

/// One tile: a crop, how much to enlarge it, and the two lines under it.
pub struct Tile {
    pub crop: Image,
    pub zoom: usize,
    pub title: String,
    pub caption: String,
}

fn font() -> &'static FontRef<'static> {
    static FONT: OnceLock<FontRef<'static>> = OnceLock::new();
    FONT.get_or_init(|| {
        FontRef::try_from_slice(epaint_default_fonts::UBUNTU_LIGHT)
            .expect("the embedded font parses")
    })
}

/// The row of tiles as an 8-bit RGB image. Every tile's enlarged crop must have the same
/// size.
pub fn compose(tiles: &[Tile]) -> Image {
    let side = |t: &Tile| (t.crop.width() * t.zoom, t.crop.height() * t.zoom);
    let (tile_w, tile_h) = tiles.first().map_or((0, 0), side);
    debug_assert!(tiles.iter().all(|t| side(t) == (tile_w, tile_h)));
    let width = GAP + tiles.len() * (tile_w + GAP);
    let height = GAP + tile_h + 2 * LINE + GAP;
    let mut canvas = Image::new(
        width,
        height,
        Layout::Rgb,
        Depth::U8,
        vec![BACKGROUND; width * height * 3],
    )
    .expect("the buffer matches the shape");
    for (i, tile) in tiles.iter().enumerate() {
        let left = GAP + i * (tile_w + GAP);
        paste_enlarged(&mut canvas, &tile.crop, tile.zoom, left, GAP);
        let baseline = GAP + tile_h + LINE - 4;
        draw_text(&mut canvas, &tile.title, left, baseline, tile_w);
        draw_text(&mut canvas, &tile.caption, left, baseline + LINE, tile_w);
    }
    canvas
}

/// Copies `crop` (any layout and depth) into `canvas` at `(left, top)`, each pixel repeated
/// `zoom x zoom` times.
fn paste_enlarged(canvas: &mut Image, crop: &Image, zoom: usize, left: usize, top: usize) {
    let rgb = crop.to_rgb();
    let to_8_bit = 255.0 / rgb.depth().max_value();
    let width = canvas.width();
    let data = canvas.data_mut();
    for y in 0..crop.height() * zoom {
        for x in 0..crop.width() * zoom {
            let source = rgb.pixel(x / zoom, y / zoom);
            let at = ((top + y) * width + left + x) * 3;
            for c in 0..3 {
                data[at + c] = (source[c] * to_8_bit).round().clamp(0.0, 255.0);
            }
        }
    }
}

/// Draws one line of text with its baseline at `baseline`, starting at `left`, cut with an
/// ellipsis where it would run wider than `max_width`.
fn draw_text(canvas: &mut Image, text: &str, left: usize, baseline: usize, max_width: usize) {
    let font = font().as_scaled(PxScale::from(TEXT_SIZE));
    let advance = |s: &str| -> f32 { s.chars().map(|c| font.h_advance(font.glyph_id(c))).sum() };
    let mut shown = text.to_string();
    if advance(&shown) > max_width as f32 {
        while !shown.is_empty() && advance(&format!("{shown}…")) > max_width as f32 {
            shown.pop();
        }
        shown.push('…');
    }
    let (width, height) = (canvas.width(), canvas.height());
    let data = canvas.data_mut();
    let mut x = left as f32;
    for c in shown.chars() {
        let id = font.glyph_id(c);
        let glyph = id.with_scale_and_position(TEXT_SIZE, point(x, baseline as f32));
        x += font.h_advance(id);
        let Some(outline) = font.outline_glyph(glyph) else {
            continue;
        };
        let bounds = outline.px_bounds();
        outline.draw(|gx, gy, coverage| {
            let px = bounds.min.x as i64 + i64::from(gx);
            let py = bounds.min.y as i64 + i64::from(gy);
            if px < 0 || py < 0 || px as usize >= width || py as usize >= height {
                return;
            }
            let at = (py as usize * width + px as usize) * 3;
            for sample in &mut data[at..at + 3] {
                *sample = (*sample + (INK - *sample) * coverage.min(1.0)).round();
            }
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn solid(side: usize, value: f32) -> Image {
        Image::new(
            side,
            side,
            Layout::Gray,
            Depth::U8,
            vec![value; side * side],
        )
        .unwrap()
    }

    #[test]
    fn tiles_are_enlarged_by_repeating_pixels_and_labelled() {
        let mut checker = solid(4, 0.0);
        for (i, v) in checker.data_mut().iter_mut().enumerate() {
            *v = if (i % 4 + i / 4) % 2 == 0 { 0.0 } else { 200.0 };
        }
        let tiles = [
            Tile {
                crop: checker,
                zoom: 8,
                title: "fsrcnn-x3".into(),
                caption: "30.00 dB".into(),
            },
            Tile {
                crop: solid(2, 100.0),
                zoom: 16,
                title: "a title far too long to fit under one tile of this size".into(),
                caption: String::new(),
            },
        ];
        let grid = compose(&tiles);
        assert_eq!(grid.width(), GAP + 2 * (32 + GAP));
        assert_eq!(grid.height(), GAP + 32 + 2 * LINE + GAP);
        // Each source pixel fills an 8x8 block.
        let at = |x: usize, y: usize| grid.pixel(GAP + x, GAP + y)[0];
        for (x, y, want) in [
            (0, 0, 0.0),
            (7, 7, 0.0),
            (8, 0, 200.0),
            (15, 7, 200.0),
            (8, 8, 0.0),
        ] {
            assert_eq!(at(x, y), want, "at {x},{y}");
        }
        assert_eq!(at(32 + GAP + 5, 20), 100.0);
        // Text is drawn under both tiles and nowhere outside their columns.
        let ink_in = |x0: usize, x1: usize| {
            (GAP + 32..grid.height())
                .flat_map(|y| (x0..x1).map(move |x| (x, y)))
                .filter(|&(x, y)| grid.pixel(x, y)[0] < 128.0)
                .count()
        };
        assert!(ink_in(GAP, GAP + 32) > 20);
        assert!(ink_in(2 * GAP + 32, 2 * GAP + 64) > 20);
        assert_eq!(ink_in(0, GAP), 0);
        assert_eq!(ink_in(2 * GAP + 64, grid.width()), 0);
    }
}
