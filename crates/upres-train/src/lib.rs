//! Training SR models with upres.
//!
//! The data path of a run: image folders ([`data`]: cached decodes, patch pairs, augmentation,
//! degradations, worker-thread batches) -> a registry model -> the objective ([`loss`]) ->
//! Adam with a [`schedule`] -> periodic validation under the papers' protocol -> checkpoints
//! ([`checkpoint`]) and logs ([`log`], [`plot`]); [`gan`] adds a discriminator and an
//! adversarial term. A [`recipe`] (TOML) describes the whole run.
//! [`search`] trains many small variants of one recipe to find the best under a latency budget.

pub mod bench;
pub mod checkpoint;
pub mod data;
pub mod device;
mod error;
mod export;
pub mod gan;
pub mod log;
pub mod loss;
pub mod params;
pub mod plot;
pub mod recipe;
pub mod schedule;
pub mod search;
pub mod trainer;

pub use error::TrainError;
pub use export::{META_RECIPE, META_VALIDATION, export_run};
pub use recipe::Recipe;
pub use trainer::{Observer, Outcome, RunOptions, Silent, Teacher, train};
