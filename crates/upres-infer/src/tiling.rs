//! Tiled, band-streamed upscaling whose output equals whole-image inference.
//!
//! The input is processed in horizontal bands of tiles. Each tile is cut with `margin` pixels
//! of context on every side that has image there; only the tile's core is kept (`Join::Crop`).
//! A convolutional network's output pixel depends only on inputs within its receptive field,
//! and zero padding happens only at true image borders, which tiles share with the whole
//! image; so with `margin` at least the receptive-field radius, the tiled result is the
//! untiled one, whatever the tile size: a small tile means a relatively larger overlap,
//! never a seam. Models with global pooling (channel attention) see only their tile, so no
//! margin makes them exact; `Join::Feather` blends overlapping tiles with linear ramps across
//! the middle of each overlap (exact again for local models when `margin` is at least twice
//! the receptive-field radius).
//!
//! Memory is bounded by one band of input rows (tile + 2 margins high) and one band of output
//! rows, whatever the image height.

use upres_image::stream::{RowSink, RowSource};
use upres_image::{Image, ImageError, UpscaleError};

/// How overlapping tiles are joined.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Join {
    /// Keep each tile's core: exact for models whose receptive field fits in the margin.
    Crop,
    /// Blend the whole tiles with weights that ramp linearly across each overlap.
    Feather,
}

/// Cropped tiles start at multiples of this. The fast engine's Winograd convolutions compute
/// 2x2 blocks anchored at the input's origin, with rounding that depends on a pixel's place
/// in its block; a tile that starts on the same grid as the whole image gives the same bits
/// as the whole image, also at the coarse levels of networks that pixel-unshuffle (RRDBNet
/// x2 by 2, U-Net SR by 4: 2x2 blocks of its coarsest pixels span 8 input pixels).
const TILE_ORIGIN_GRID: usize = 8;

/// Where a tile's input window starts: `margin` before its core, moved back onto the
/// [`TILE_ORIGIN_GRID`] when the core is cropped out (more context never hurts there).
fn window_start(core_start: usize, margin: usize, join: Join) -> usize {
    let start = core_start.saturating_sub(margin);
    match join {
        Join::Crop => start - start % TILE_ORIGIN_GRID,
        Join::Feather => start,
    }
}

/// Tile size, context margin and join.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TilePlan {
    /// Side of a tile's core, in input pixels.
    pub tile: usize,
    /// Context added on each side, in input pixels.
    pub margin: usize,
    pub join: Join,
}

#[derive(Debug, thiserror::Error)]
pub enum TileError {
    #[error(transparent)]
    Image(#[from] ImageError),
    #[error("{0}")]
    Upscale(UpscaleError),
    #[error("the method returned a {got_w}x{got_h} tile for a {in_w}x{in_h} input at x{scale}")]
    Shape {
        in_w: usize,
        in_h: usize,
        got_w: usize,
        got_h: usize,
        scale: usize,
    },
}

/// Upscales `source` into `sink` tile by tile. `upscale_tile` must return an image `scale`
/// times its input with the same layout; `progress` is told (tiles done, tiles in all).
pub fn upscale_tiled(
    source: &mut dyn RowSource,
    sink: &mut dyn RowSink,
    scale: usize,
    plan: TilePlan,
    upscale_tile: &dyn Fn(&Image) -> Result<Image, UpscaleError>,
    progress: &mut dyn FnMut(usize, usize),
) -> Result<(), TileError> {
    let (w, h) = (source.width(), source.height());
    let (layout, depth) = (source.layout(), source.depth());
    let tile = plan.tile.max(1);
    let margin = plan.margin;
    let join = if margin == 0 { Join::Crop } else { plan.join };
    let (bands, cols) = (h.div_ceil(tile), w.div_ceil(tile));
    let total = bands * cols;
    let mut window = Window {
        y0: 0,
        rows: Image::zeros(w, 0, layout, depth),
    };
    let mut acc = Accumulator::new(w * scale, layout.channels(), join);
    for band in 0..bands {
        let (by0, by1) = (band * tile, ((band + 1) * tile).min(h));
        let (ey0, ey1) = (window_start(by0, margin, join), (by1 + margin).min(h));
        window.advance(source, ey0, ey1)?;
        // Cropped tiles give nothing below their core; feathered ones blend into the margin.
        acc.extend_to(match join {
            Join::Crop => by1 * scale,
            Join::Feather => ey1 * scale,
        });
        let wy = weights(by0, by1, ey0, ey1, h, margin, scale, join);
        for col in 0..cols {
            let (bx0, bx1) = (col * tile, ((col + 1) * tile).min(w));
            let (ex0, ex1) = (window_start(bx0, margin, join), (bx1 + margin).min(w));
            let input = window.rows.crop(ex0, 0, ex1 - ex0, ey1 - ey0)?;
            let output = upscale_tile(&input).map_err(TileError::Upscale)?;
            let want = ((ex1 - ex0) * scale, (ey1 - ey0) * scale);
            if (output.width(), output.height()) != want || output.layout() != layout {
                return Err(TileError::Shape {
                    in_w: input.width(),
                    in_h: input.height(),
                    got_w: output.width(),
                    got_h: output.height(),
                    scale,
                });
            }
            let wx = weights(bx0, bx1, ex0, ex1, w, margin, scale, join);
            acc.add(&output.to_depth(depth), ex0 * scale, ey0 * scale, &wx, &wy);
            progress(band * cols + col + 1, total);
        }
        // Rows no later tile reaches are final.
        let final_rows = if band + 1 == bands {
            h * scale
        } else {
            match join {
                Join::Crop => by1 * scale,
                Join::Feather => by1.saturating_sub(margin) * scale,
            }
        };
        let rows = acc.take_until(final_rows, layout, depth)?;
        if rows.height() > 0 {
            sink.write_rows(&rows)?;
        }
    }
    Ok(())
}

/// Input rows `[y0, y0 + rows.height())` currently held.
struct Window {
    y0: usize,
    rows: Image,
}

impl Window {
    /// Holds exactly rows `[start, end)`, reading what is missing and dropping what is done.
    fn advance(
        &mut self,
        source: &mut dyn RowSource,
        start: usize,
        end: usize,
    ) -> Result<(), ImageError> {
        let held_end = self.y0 + self.rows.height();
        let keep_from = start.max(self.y0).min(held_end) - self.y0;
        let kept = self.rows.crop(
            0,
            keep_from,
            self.rows.width(),
            self.rows.height() - keep_from,
        )?;
        let fresh = source.read_rows(end.saturating_sub(held_end))?;
        let mut data = kept.into_data();
        data.extend_from_slice(fresh.data());
        let height = end - start;
        self.rows = Image::new(
            self.rows.width(),
            height,
            self.rows.layout(),
            self.rows.depth(),
            data,
        )?;
        self.y0 = start;
        Ok(())
    }
}

/// Per output position along one axis, the weight of a tile whose core is `[c0, c1)` and
/// whose extent is `[e0, e1)` (input pixels) in an image of `len` pixels.
#[allow(clippy::too_many_arguments)]
fn weights(
    c0: usize,
    c1: usize,
    e0: usize,
    e1: usize,
    len: usize,
    margin: usize,
    scale: usize,
    join: Join,
) -> Vec<f32> {
    (e0 * scale..e1 * scale)
        .map(|out| match join {
            Join::Crop => f32::from(u8::from((c0 * scale..c1 * scale).contains(&out))),
            Join::Feather => {
                // Position in input coordinates of the output pixel's centre. The ramp spans
                // `margin` pixels centred on the core's edge, so the outer half of the margin,
                // where the tile's own border padding reaches, gets no weight.
                let x = (out as f64 + 0.5) / scale as f64;
                let (m, half) = (margin as f64, margin as f64 / 2.0);
                let left = if c0 == 0 {
                    1.0
                } else {
                    ((x - (c0 as f64 - half)) / m).clamp(0.0, 1.0)
                };
                let right = if c1 == len {
                    1.0
                } else {
                    ((c1 as f64 + half - x) / m).clamp(0.0, 1.0)
                };
                (left * right) as f32
            }
        })
        .collect()
}

/// Weighted sums of output rows from `y0` on, until they are final. Cropped tiles cover each
/// output pixel exactly once with weight 1, so their sums are the pixels and no weights are
/// kept: the band of a 32000-pixel-wide RGB output at tile 512 x2 is then 400 MB, not 540.
struct Accumulator {
    width: usize,
    channels: usize,
    y0: usize,
    sums: Vec<f32>,
    /// Per pixel, when feathering.
    weights: Option<Vec<f32>>,
}

impl Accumulator {
    fn new(width: usize, channels: usize, join: Join) -> Self {
        Self {
            width,
            channels,
            y0: 0,
            sums: Vec::new(),
            weights: (join == Join::Feather).then(Vec::new),
        }
    }

    fn rows(&self) -> usize {
        self.sums.len() / (self.width * self.channels).max(1)
    }

    fn extend_to(&mut self, end: usize) {
        let rows = end.saturating_sub(self.y0);
        // Exactly: doubling the capacity of a band this size would cost hundreds of MB.
        let len = rows * self.width * self.channels;
        self.sums.reserve_exact(len.saturating_sub(self.sums.len()));
        self.sums.resize(len, 0.0);
        if let Some(weights) = &mut self.weights {
            weights.reserve_exact((rows * self.width).saturating_sub(weights.len()));
            weights.resize(rows * self.width, 0.0);
        }
    }

    fn add(&mut self, tile: &Image, x0: usize, y0: usize, wx: &[f32], wy: &[f32]) {
        let c = self.channels;
        for (ty, &wrow) in wy.iter().enumerate() {
            if wrow == 0.0 {
                continue;
            }
            let row = y0 + ty - self.y0;
            for (tx, &wcol) in wx.iter().enumerate() {
                let w = wrow * wcol;
                if w == 0.0 {
                    continue;
                }
                let p = row * self.width + x0 + tx;
                if let Some(weights) = &mut self.weights {
                    weights[p] += w;
                }
                for (s, v) in self.sums[p * c..(p + 1) * c]
                    .iter_mut()
                    .zip(tile.pixel(tx, ty))
                {
                    *s += w * v;
                }
            }
        }
    }

    /// Removes and returns rows `[y0, end)`, each sum divided by its weight.
    fn take_until(
        &mut self,
        end: usize,
        layout: upres_image::Layout,
        depth: upres_image::Depth,
    ) -> Result<Image, ImageError> {
        let n = end.saturating_sub(self.y0).min(self.rows());
        let c = self.channels;
        // All rows leave without a copy (always so when cropping).
        let mut data: Vec<f32> = if n == self.rows() {
            std::mem::take(&mut self.sums)
        } else {
            self.sums.drain(..n * self.width * c).collect()
        };
        if let Some(weights) = &mut self.weights {
            for (px, w) in data
                .chunks_exact_mut(c)
                .zip(weights.drain(..n * self.width))
            {
                px.iter_mut().for_each(|v| *v /= w);
            }
        }
        self.y0 += n;
        Image::new(self.width, n, layout, depth, data)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use upres_image::stream::{ImageCollector, ImageRows};
    use upres_image::{Depth, Layout};

    /// A stand-in network with a known receptive field: `passes` 3x3 box blurs with zero
    /// padding (radius `passes`), then nearest-neighbour upscaling.
    fn local_model(passes: usize, scale: usize) -> impl Fn(&Image) -> Result<Image, UpscaleError> {
        move |img: &Image| {
            let (w, h, c) = (img.width(), img.height(), img.channels());
            let mut cur = img.data().to_vec();
            for _ in 0..passes {
                let mut next = vec![0.0f32; cur.len()];
                for y in 0..h {
                    for x in 0..w {
                        for ch in 0..c {
                            let mut s = 0.0;
                            for dy in -1i64..=1 {
                                for dx in -1i64..=1 {
                                    let (yy, xx) = (y as i64 + dy, x as i64 + dx);
                                    if (0..h as i64).contains(&yy) && (0..w as i64).contains(&xx) {
                                        s += cur[((yy as usize) * w + xx as usize) * c + ch];
                                    }
                                }
                            }
                            next[(y * w + x) * c + ch] = s / 9.0;
                        }
                    }
                }
                cur = next;
            }
            let mut out = Vec::with_capacity(cur.len() * scale * scale);
            for y in 0..h * scale {
                for x in 0..w * scale {
                    let p = ((y / scale) * w + x / scale) * c;
                    out.extend_from_slice(&cur[p..p + c]);
                }
            }
            Ok(Image::new(
                w * scale,
                h * scale,
                img.layout(),
                img.depth(),
                out,
            )?)
        }
    }

    fn test_image(w: usize, h: usize) -> Image {
        let data = (0..w * h * 2).map(|i| ((i * 7919) % 251) as f32).collect();
        Image::new(w, h, Layout::GrayAlpha, Depth::U8, data).unwrap()
    }

    fn run(
        img: &Image,
        scale: usize,
        plan: TilePlan,
        f: &dyn Fn(&Image) -> Result<Image, UpscaleError>,
    ) -> (Image, usize) {
        let mut sink = ImageCollector::new(img.width() * scale, img.layout(), img.depth());
        let mut calls = 0;
        upscale_tiled(
            &mut ImageRows::new(img),
            &mut sink,
            scale,
            plan,
            f,
            &mut |_, _| calls += 1,
        )
        .unwrap();
        (sink.finish().unwrap(), calls)
    }

    #[test]
    fn crop_tiling_equals_whole_image_when_margin_covers_the_receptive_field() {
        let img = test_image(37, 29);
        let model = local_model(3, 2);
        let whole = model(&img).unwrap();
        for tile in [1, 2, 5, 8, 16, 100] {
            let plan = TilePlan {
                tile,
                margin: 3,
                join: Join::Crop,
            };
            let (tiled, calls) = run(&img, 2, plan, &model);
            assert_eq!(tiled, whole, "tile {tile}");
            assert_eq!(calls, 37usize.div_ceil(tile) * 29usize.div_ceil(tile));
        }
    }

    #[test]
    fn too_small_a_margin_shows_seams() {
        // The converse: the test above would catch a margin that is one pixel short.
        let img = test_image(37, 29);
        let model = local_model(3, 2);
        let plan = TilePlan {
            tile: 8,
            margin: 2,
            join: Join::Crop,
        };
        assert_ne!(run(&img, 2, plan, &model).0, model(&img).unwrap());
    }

    #[test]
    fn feathered_tiling_of_a_local_model_is_exact_up_to_rounding() {
        // A local model gives the same values in every overlapping tile away from the tile's
        // outer receptive-field band, so a convex blend there is the whole-image value.
        let img = test_image(41, 23);
        let model = local_model(2, 3);
        let whole = model(&img).unwrap();
        let plan = TilePlan {
            tile: 10,
            margin: 4,
            join: Join::Feather,
        };
        let (tiled, _) = run(&img, 3, plan, &model);
        let max = tiled
            .data()
            .iter()
            .zip(whole.data())
            .map(|(a, b)| (a - b).abs())
            .fold(0.0, f32::max);
        assert!(max < 1e-3, "max deviation {max}");
    }

    #[test]
    fn feathering_blends_a_non_local_model_smoothly() {
        // A model that adds its tile's mean (a global-pooling stand-in): crop joins jump at
        // tile borders, feathered joins change gradually.
        let img = Image::new(
            64,
            1,
            Layout::Gray,
            Depth::U8,
            (0..64).map(|x| (x * 4) as f32).collect(),
        )
        .unwrap();
        let global = |t: &Image| -> Result<Image, UpscaleError> {
            let mean = t.data().iter().sum::<f32>() / t.data().len() as f32;
            let mut out = t.clone();
            out.data_mut().iter_mut().for_each(|v| *v = mean);
            Ok(out)
        };
        let max_step = |plan| {
            let (out, _) = run(&img, 1, plan, &global);
            out.data()
                .windows(2)
                .map(|p| (p[1] - p[0]).abs())
                .fold(0.0, f32::max)
        };
        let crop = max_step(TilePlan {
            tile: 16,
            margin: 8,
            join: Join::Crop,
        });
        let feather = max_step(TilePlan {
            tile: 16,
            margin: 8,
            join: Join::Feather,
        });
        assert!(feather < crop / 4.0, "feather {feather} vs crop {crop}");
    }

    #[test]
    fn wrong_tile_shape_is_an_error() {
        let img = test_image(8, 8);
        let bad = |t: &Image| -> Result<Image, UpscaleError> { Ok(t.clone()) };
        let mut sink = ImageCollector::new(16, img.layout(), img.depth());
        let plan = TilePlan {
            tile: 4,
            margin: 1,
            join: Join::Crop,
        };
        let err = upscale_tiled(
            &mut ImageRows::new(&img),
            &mut sink,
            2,
            plan,
            &bad,
            &mut |_, _| {},
        );
        assert!(matches!(err, Err(TileError::Shape { .. })));
    }
}
