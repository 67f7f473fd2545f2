//! Learning-rate schedules as pure functions of the iteration, so that a resumed run picks up
//! exactly where it stopped without any scheduler state.

use serde::{Deserialize, Serialize};

/// The shape of the schedule after warmup.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum Decay {
    /// The base rate throughout.
    Constant,
    /// Cosine annealing (SGDR without restarts) from the base rate to `eta_min` over `t_max`
    /// iterations after warmup (default: the rest of the run), then `eta_min`.
    Cosine {
        #[serde(default)]
        t_max: Option<usize>,
        #[serde(default)]
        eta_min: f64,
    },
    /// Multiplies the rate by `gamma` at each milestone iteration (EDSR halves it every 200k).
    MultiStep { milestones: Vec<usize>, gamma: f64 },
}

/// A schedule: optional linear warmup, then a [`Decay`]. In TOML:
/// ```toml
/// [schedule]
/// kind = "cosine"
/// eta_min = 1e-6
/// warmup = 1000
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Schedule {
    #[serde(flatten)]
    pub decay: Decay,
    /// Iterations of linear warmup from `base / warmup` to the base rate.
    #[serde(default)]
    pub warmup: usize,
}

impl Default for Schedule {
    fn default() -> Self {
        Self {
            decay: Decay::Cosine {
                t_max: None,
                eta_min: 0.0,
            },
            warmup: 0,
        }
    }
}

impl Schedule {
    /// The learning rate at 0-based `iteration` of a run of `total` iterations.
    pub fn rate(&self, base: f64, iteration: usize, total: usize) -> f64 {
        if iteration < self.warmup {
            return base * (iteration + 1) as f64 / self.warmup as f64;
        }
        let t = iteration - self.warmup;
        match &self.decay {
            Decay::Constant => base,
            Decay::Cosine { t_max, eta_min } => {
                let t_max = t_max.unwrap_or(total.saturating_sub(self.warmup)).max(1);
                let progress = t.min(t_max) as f64 / t_max as f64;
                eta_min + (base - eta_min) * 0.5 * (1.0 + (std::f64::consts::PI * progress).cos())
            }
            Decay::MultiStep { milestones, gamma } => {
                let passed = milestones.iter().filter(|&&m| iteration >= m).count();
                base * gamma.powi(passed as i32)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cosine_starts_at_base_halves_midway_and_ends_at_eta_min() {
        let s = Schedule {
            decay: Decay::Cosine {
                t_max: None,
                eta_min: 1e-5,
            },
            warmup: 0,
        };
        assert_eq!(s.rate(1e-3, 0, 1000), 1e-3);
        assert!((s.rate(1e-3, 500, 1000) - (1e-5 + (1e-3 - 1e-5) / 2.0)).abs() < 1e-12);
        assert!((s.rate(1e-3, 1000, 1000) - 1e-5).abs() < 1e-12);
        assert!((s.rate(1e-3, 5000, 1000) - 1e-5).abs() < 1e-12);
    }

    #[test]
    fn warmup_then_multistep() {
        let s: Schedule = toml::from_str(
            "kind = \"multi_step\"\nmilestones = [100, 200]\ngamma = 0.5\nwarmup = 10",
        )
        .unwrap();
        assert!((s.rate(1.0, 0, 300) - 0.1).abs() < 1e-12);
        assert_eq!(s.rate(1.0, 9, 300), 1.0);
        assert_eq!(s.rate(1.0, 99, 300), 1.0);
        assert_eq!(s.rate(1.0, 100, 300), 0.5);
        assert_eq!(s.rate(1.0, 250, 300), 0.25);
    }
}
