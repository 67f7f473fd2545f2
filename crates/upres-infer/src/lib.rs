//! Running SR methods on real images: tiling that equals whole-image inference, band
//! streaming so memory stays bounded on huge inputs, and the x8 self-ensemble.

pub mod bands;
pub mod batch;
pub mod bench;
pub mod ensemble;
pub mod fast;
pub mod int8;
pub mod model;
pub mod perceptual;
pub mod pipeline;
pub mod temporal;
pub mod tiling;
pub mod video;
pub mod zoo;

pub use ensemble::self_ensemble;
pub use tiling::{Join, TileError, TilePlan, upscale_tiled};
