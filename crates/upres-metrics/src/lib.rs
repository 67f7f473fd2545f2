//! Image quality as the SR papers measure it: PSNR and SSIM ([`quality`]) under the field's
//! protocol (Y of BT.601, `scale` pixels cropped from each border: [`protocol`]), and the
//! benchmark loop over a dataset folder ([`evaluate`]), with an optional learned perceptual
//! distance column ([`perceptual`]); rendered text pages with an edge-sharpness and a
//! character-level check for document upscaling ([`text`]); and the evaluation report beside
//! the published figures, with side-by-side crops ([`report`]).

pub mod evaluate;
pub mod perceptual;
pub mod protocol;
pub mod quality;
pub mod report;
pub mod text;

pub use evaluate::{
    Dataset, DatasetScores, EvalError, ImageScores, LowResSource, Restoration, evaluate,
    evaluate_observed, evaluate_with, restore,
};
pub use perceptual::PerceptualDistance;
pub use protocol::{Channel, Protocol, Scores, compare};
