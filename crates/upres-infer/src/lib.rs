//! Running SR methods on real images: tiling that equals whole-image inference, band
//! streaming so memory stays bounded on huge inputs.

pub mod tiling;

pub use tiling::{Join, TileError, TilePlan, upscale_tiled};
