//! A small architecture search (the seed's NAS) over the EDSR family: depth (residual blocks),
//! width (feature channels) and upsampler (EDSR's stages, or ESPCN's single sub-pixel layer).
//!
//! Every candidate's latency is measured first, on this CPU, by the engine that will run it
//! (the fast engine of `upres-infer`, all threads); those within the budget are each trained
//! briefly from the same recipe (same data, seed and schedule) and validated on its first
//! validation set. The result is a table of every candidate and the Pareto front of quality
//! against speed: the candidates that no other one beats on both.

use std::fs;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::AtomicBool;

use burn::tensor::Device;
use upres_infer::bench::{Engine, forward_times, input_dims};
use upres_models::{SrModel, Variant};

use crate::checkpoint::Checkpoint;
use crate::device::Precision;
use crate::error::TrainError;
use crate::plot::{SearchPoint, draw_search};
use crate::recipe::Recipe;
use crate::trainer::{RunOptions, Silent, train};

/// The candidates: every combination of the three axes.
#[derive(Debug, Clone, PartialEq)]
pub struct SearchSpace {
    /// Residual block counts.
    pub blocks: Vec<usize>,
    /// Feature channel counts.
    pub features: Vec<usize>,
    /// Upsamplers: `false` for EDSR's stages, `true` for the sub-pixel tail.
    pub sub_pixel: Vec<bool>,
}

impl SearchSpace {
    /// Every combination, smallest first.
    pub fn variants(&self) -> Vec<Variant> {
        let mut variants = Vec::new();
        for &blocks in &self.blocks {
            for &features in &self.features {
                for &sub_pixel in &self.sub_pixel {
                    variants.push(Variant {
                        blocks: Some(blocks),
                        features: Some(features),
                        sub_pixel,
                        ..Variant::default()
                    });
                }
            }
        }
        variants
    }
}

/// One architecture of the search.
#[derive(Debug, Clone, PartialEq)]
pub struct Candidate {
    pub variant: Variant,
    /// Trainable parameters.
    pub parameters: usize,
    /// Milliseconds per output megapixel on this CPU (median of the timed runs).
    pub ms_per_megapixel: f64,
    /// Validation Y-PSNR after the brief training; `None` if over the budget (not trained).
    pub psnr: Option<f64>,
    /// The candidate's training run, if trained.
    pub run: Option<PathBuf>,
}

impl Candidate {
    /// A short name: `b4-f32-subpixel`.
    pub fn label(&self) -> String {
        let v = self.variant;
        let upsampler = if v.sub_pixel { "subpixel" } else { "edsr" };
        format!(
            "b{}-f{}-{upsampler}",
            v.blocks.unwrap_or_default(),
            v.features.unwrap_or_default()
        )
    }
}

/// What the search measures and trains with.
pub struct SearchOptions {
    /// The recipe every candidate trains with; its model must be of the EDSR family (the
    /// variant is set per candidate).
    pub recipe: Recipe,
    pub space: SearchSpace,
    /// Latency budget, milliseconds per output megapixel.
    pub budget: f64,
    /// Side of the square low-resolution input the latency is measured on.
    pub latency_side: usize,
    /// Timed forward passes per candidate.
    pub latency_runs: usize,
    /// Folder for the candidates' runs and the results.
    pub out: PathBuf,
    /// Set to stop after the current candidate's current step.
    pub stop: Arc<AtomicBool>,
}

/// Milliseconds per output megapixel of `model`'s forward pass on a `side x side` input:
/// the median of `runs` timed passes of the fast engine.
pub fn latency(model: &SrModel, side: usize, runs: usize) -> Result<f64, TrainError> {
    let dims = input_dims(model, side, side);
    let mut times: Vec<f64> = forward_times(model, Engine::Fast, dims, runs)?
        .iter()
        .map(|t| t.as_secs_f64() * 1e3)
        .collect();
    times.sort_by(f64::total_cmp);
    let out_side = (side * model.scale()) as f64;
    Ok(times[times.len() / 2] / (out_side * out_side / 1e6))
}

/// Runs the search, reporting progress through `report`; returns every candidate, in the
/// space's order. A candidate whose run folder already holds a run resumes it, so an
/// interrupted search continues where it stopped.
pub fn search(
    options: &SearchOptions,
    report: &mut dyn FnMut(&str),
) -> Result<Vec<Candidate>, TrainError> {
    let device = Device::flex();
    let mut candidates = Vec::new();
    for variant in options.space.variants() {
        let mut section = options.recipe.model.clone();
        section.variant = Some(variant.to_string());
        let model = section.build(&device)?;
        let candidate = Candidate {
            variant,
            parameters: model.num_params(),
            ms_per_megapixel: latency(&model, options.latency_side, options.latency_runs)?,
            psnr: None,
            run: None,
        };
        report(&format!(
            "{:<20} {:>9} parameters {:>9.1} ms/MP{}",
            candidate.label(),
            candidate.parameters,
            candidate.ms_per_megapixel,
            if candidate.ms_per_megapixel > options.budget {
                "  over budget"
            } else {
                ""
            }
        ));
        candidates.push(candidate);
    }
    let within: Vec<usize> = (0..candidates.len())
        .filter(|&i| candidates[i].ms_per_megapixel <= options.budget)
        .collect();
    for (n, &i) in within.iter().enumerate() {
        let candidate = &mut candidates[i];
        let mut recipe = options.recipe.clone();
        recipe.model.variant = Some(candidate.variant.to_string());
        let run = options.out.join(candidate.label());
        let resume = Checkpoint::new(&run).state_model().is_file();
        report(&format!(
            "training {} ({} of {}, {} iterations)",
            candidate.label(),
            n + 1,
            within.len(),
            recipe.train.iterations
        ));
        let outcome = train(
            &recipe,
            RunOptions {
                out: run.clone(),
                resume,
                init: None,
                teacher: None,
                weights_dir: None,
                stop: options.stop.clone(),
                device: Device::flex(),
                precision: Precision::F32,
            },
            &mut Silent,
        )?;
        candidate.psnr = outcome.best.map(|(psnr, _)| psnr);
        candidate.run = Some(run);
        if outcome.interrupted {
            report("stopped: run the same command again to continue");
            break;
        }
        report(&format!(
            "{}: {:.3} dB",
            candidate.label(),
            candidate.psnr.unwrap_or(f64::NAN)
        ));
    }
    Ok(candidates)
}

/// For each candidate, whether it is on the Pareto front: trained, and no other trained
/// candidate is at least as fast and as good and strictly better in one.
pub fn pareto_front(candidates: &[Candidate]) -> Vec<bool> {
    let trained = |c: &Candidate| c.psnr.map(|p| (c.ms_per_megapixel, p));
    candidates
        .iter()
        .map(|c| {
            let Some((ms, psnr)) = trained(c) else {
                return false;
            };
            !candidates
                .iter()
                .filter_map(trained)
                .any(|(other_ms, other_psnr)| {
                    other_ms <= ms && other_psnr >= psnr && (other_ms < ms || other_psnr > psnr)
                })
        })
        .collect()
}

/// The best trained candidate within the budget: the top of the front.
pub fn winner(candidates: &[Candidate]) -> Option<&Candidate> {
    candidates
        .iter()
        .filter(|c| c.psnr.is_some())
        .max_by(|a, b| a.psnr.unwrap().total_cmp(&b.psnr.unwrap()))
}

/// The results table as Markdown: every candidate, fastest first, front rows marked.
pub fn table(candidates: &[Candidate], budget: f64) -> String {
    let front = pareto_front(candidates);
    let mut order: Vec<usize> = (0..candidates.len()).collect();
    order.sort_by(|&a, &b| {
        candidates[a]
            .ms_per_megapixel
            .total_cmp(&candidates[b].ms_per_megapixel)
    });
    let mut text = String::from(
        "| candidate | blocks | features | upsampler | parameters | ms per MP | Y-PSNR (dB) | front |\n\
         | --- | --- | --- | --- | --- | --- | --- | --- |\n",
    );
    for i in order {
        let c = &candidates[i];
        let psnr = match c.psnr {
            Some(psnr) => format!("{psnr:.3}"),
            None if c.ms_per_megapixel > budget => "over budget".to_string(),
            None => "not trained".to_string(),
        };
        text.push_str(&format!(
            "| {} | {} | {} | {} | {} | {:.1} | {psnr} | {} |\n",
            c.label(),
            c.variant.blocks.unwrap_or_default(),
            c.variant.features.unwrap_or_default(),
            if c.variant.sub_pixel {
                "sub-pixel"
            } else {
                "EDSR"
            },
            c.parameters,
            c.ms_per_megapixel,
            if front[i] { "yes" } else { "" }
        ));
    }
    text
}

/// Writes `search.md` (the table), `search.csv` and `pareto.png` into `out`.
pub fn write_results(candidates: &[Candidate], budget: f64, out: &Path) -> Result<(), TrainError> {
    let io = |path: PathBuf| move |source| TrainError::Io { path, source };
    fs::create_dir_all(out).map_err(io(out.to_path_buf()))?;
    let front = pareto_front(candidates);
    let mut csv = String::from(
        "candidate,blocks,features,sub_pixel,parameters,ms_per_megapixel,psnr,front\n",
    );
    for (c, on_front) in candidates.iter().zip(&front) {
        csv.push_str(&format!(
            "{},{},{},{},{},{:.3},{},{}\n",
            c.label(),
            c.variant.blocks.unwrap_or_default(),
            c.variant.features.unwrap_or_default(),
            c.variant.sub_pixel,
            c.parameters,
            c.ms_per_megapixel,
            c.psnr.map_or(String::new(), |p| format!("{p:.4}")),
            on_front
        ));
    }
    for (name, text) in [
        ("search.csv", csv),
        ("search.md", table(candidates, budget)),
    ] {
        let path = out.join(name);
        let temp = path.with_extension("tmp");
        fs::write(&temp, text).map_err(io(temp.clone()))?;
        fs::rename(&temp, &path).map_err(io(path.clone()))?;
    }
    let points: Vec<SearchPoint> = candidates
        .iter()
        .zip(&front)
        .filter_map(|(c, &on_front)| {
            Some(SearchPoint {
                label: c.label(),
                ms_per_megapixel: c.ms_per_megapixel,
                psnr: c.psnr?,
                on_front,
            })
        })
        .collect();
    let plot = out.join("pareto.png");
    draw_search(&points, budget, &plot).map_err(|message| TrainError::Io {
        path: plot,
        source: std::io::Error::other(message),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn candidate(ms: f64, psnr: Option<f64>) -> Candidate {
        Candidate {
            variant: Variant::default(),
            parameters: 0,
            ms_per_megapixel: ms,
            psnr,
            run: None,
        }
    }

    #[test]
    fn front_keeps_only_undominated_trained_candidates() {
        let candidates = [
            candidate(10.0, Some(30.0)),
            candidate(20.0, Some(31.0)),
            candidate(25.0, Some(30.5)), // slower and worse than the second
            candidate(20.0, Some(31.0)), // a tie is not dominated
            candidate(40.0, Some(32.0)),
            candidate(5.0, None), // over budget
        ];
        assert_eq!(
            pareto_front(&candidates),
            [true, true, false, true, true, false]
        );
        assert_eq!(winner(&candidates).unwrap().ms_per_megapixel, 40.0);
    }

    #[test]
    fn space_and_labels() {
        let space = SearchSpace {
            blocks: vec![0, 4],
            features: vec![32],
            sub_pixel: vec![false, true],
        };
        let labels: Vec<String> = space
            .variants()
            .into_iter()
            .map(|variant| {
                Candidate {
                    variant,
                    ..candidate(1.0, None)
                }
                .label()
            })
            .collect();
        assert_eq!(
            labels,
            [
                "b0-f32-edsr",
                "b0-f32-subpixel",
                "b4-f32-edsr",
                "b4-f32-subpixel"
            ]
        );
    }
}
