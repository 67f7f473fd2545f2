//! A run's CSV logs (`train.csv`: iteration, loss, learning rate, seconds; `validation.csv`:
//! iteration, dataset, Y-PSNR, SSIM) and their plot (`progress.png`).

use std::fs::{self, File, OpenOptions};
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use upres_metrics::DatasetScores;

use crate::error::TrainError;
use crate::plot;

const TRAIN_HEADER: &str = "iteration,loss,lr,seconds";
const VALIDATION_HEADER: &str = "iteration,dataset,psnr,ssim";

/// Appends to a run's logs; rows are kept in memory for the plot.
pub struct RunLog {
    dir: PathBuf,
    train: BufWriter<File>,
    validation: BufWriter<File>,
    /// Loss summed since the last written row.
    pending: (f64, usize),
    pub train_rows: Vec<plot::TrainRow>,
    pub validation_rows: Vec<plot::ValidationRow>,
}

impl RunLog {
    /// Opens the logs of a run at `iteration`: rows past it (written after the checkpoint being
    /// resumed) are dropped, so the logs read as one uninterrupted run.
    pub fn open(dir: &Path, iteration: usize) -> Result<Self, TrainError> {
        let train_path = dir.join("train.csv");
        let validation_path = dir.join("validation.csv");
        let train_rows: Vec<plot::TrainRow> = read_rows(&train_path, iteration)?;
        let validation_rows: Vec<plot::ValidationRow> = read_rows(&validation_path, iteration)?;
        let mut train = create(&train_path, TRAIN_HEADER)?;
        for r in &train_rows {
            writeln!(train, "{},{},{},{}", r.iteration, r.loss, r.lr, r.seconds)
                .map_err(io(&train_path))?;
        }
        let mut validation = create(&validation_path, VALIDATION_HEADER)?;
        for r in &validation_rows {
            writeln!(
                validation,
                "{},{},{},{}",
                r.iteration, r.dataset, r.psnr, r.ssim
            )
            .map_err(io(&validation_path))?;
        }
        Ok(Self {
            dir: dir.to_path_buf(),
            train,
            validation,
            pending: (0.0, 0),
            train_rows,
            validation_rows,
        })
    }

    /// Notes one step; every `every` iterations writes the mean loss since the last row.
    pub fn step(
        &mut self,
        iteration: usize,
        loss: f32,
        lr: f64,
        seconds: f64,
        every: usize,
    ) -> Result<(), TrainError> {
        self.pending.0 += f64::from(loss);
        self.pending.1 += 1;
        if !iteration.is_multiple_of(every.max(1)) {
            return Ok(());
        }
        let row = plot::TrainRow {
            iteration,
            loss: self.pending.0 / self.pending.1 as f64,
            lr,
            seconds,
        };
        self.pending = (0.0, 0);
        writeln!(
            self.train,
            "{},{},{},{:.1}",
            row.iteration, row.loss, row.lr, row.seconds
        )
        .and_then(|_| self.train.flush())
        .map_err(io(&self.dir.join("train.csv")))?;
        self.train_rows.push(row);
        Ok(())
    }

    /// Notes a validation.
    pub fn validation(
        &mut self,
        iteration: usize,
        scores: &[DatasetScores],
    ) -> Result<(), TrainError> {
        for s in scores {
            let row = plot::ValidationRow {
                iteration,
                dataset: s.dataset.clone(),
                psnr: s.mean.psnr,
                ssim: s.mean.ssim,
            };
            writeln!(
                self.validation,
                "{},{},{:.4},{:.5}",
                row.iteration, row.dataset, row.psnr, row.ssim
            )
            .map_err(io(&self.dir.join("validation.csv")))?;
            self.validation_rows.push(row);
        }
        self.validation
            .flush()
            .map_err(io(&self.dir.join("validation.csv")))
    }

    /// Redraws `progress.png`.
    pub fn plot(&self) -> Result<(), TrainError> {
        let path = self.dir.join("progress.png");
        plot::draw(&self.train_rows, &self.validation_rows, &path)
            .map_err(|message| TrainError::Checkpoint { path, message })
    }
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> TrainError + '_ {
    move |source| TrainError::Io {
        path: path.to_path_buf(),
        source,
    }
}

fn create(path: &Path, header: &str) -> Result<BufWriter<File>, TrainError> {
    let file = OpenOptions::new()
        .create(true)
        .write(true)
        .truncate(true)
        .open(path)
        .map_err(io(path))?;
    let mut writer = BufWriter::new(file);
    writeln!(writer, "{header}").map_err(io(path))?;
    Ok(writer)
}

/// The rows of an existing log up to `iteration` (none if the file does not exist).
fn read_rows<R: std::str::FromStr + plot::Row>(
    path: &Path,
    iteration: usize,
) -> Result<Vec<R>, TrainError> {
    let text = match fs::read_to_string(path) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(source) => return Err(io(path)(source)),
    };
    Ok(text
        .lines()
        .skip(1)
        .filter_map(|line| line.parse::<R>().ok())
        .filter(|row| row.iteration() <= iteration)
        .collect())
}
