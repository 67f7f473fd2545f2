//! `upres`: image super-resolution from the command line. Argument parsing and progress only;
//! every decision lives in the library crates.

mod commands;

use clap::{Parser, Subcommand};
use std::process::ExitCode;

#[derive(Parser)]
#[command(
    name = "upres",
    version,
    about = "Image super-resolution: upscale, evaluate, train."
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Upscale an image file.
    Upscale(commands::upscale::Args),
    /// Upscale a video, frame by frame through ffmpeg, keeping its audio.
    Video(commands::video::Args),
    /// Make the MATLAB-bicubic low-resolution version of an image.
    Downscale(commands::downscale::Args),
    /// Score a method on benchmark datasets under the papers' protocol.
    Eval(commands::eval::Args),
    /// Write an HTML and Markdown report: scores beside the papers', crops side by side.
    Report(commands::report::Args),
    /// Rendered text: make pages to train on, score methods on edges and characters.
    Text(commands::text::Args),
    /// List the built-in models and every architecture with its parameter count per scale;
    /// `models import` converts a PyTorch checkpoint or an ncnn model.
    Models(commands::models::Args),
    /// Print a model file's metadata: architecture, scale, recipe, scores.
    Info(commands::info::Args),
    /// Package a training run's best weights as one .upres model file, or any model as ONNX.
    Export(commands::export::Args),
    /// Quantize a model to INT8, its activation ranges calibrated on images.
    Quantize(commands::quantize::Args),
    /// Search depth, width and upsampler of an EDSR model under a latency budget.
    Search(commands::search::Args),
    /// Train a model from a recipe (see configs/).
    Train(commands::train::Args),
    /// Serve upscaling over HTTP, with a web page at /.
    Serve(commands::serve::Args),
    /// Time training steps on random data (compare with tools/bench_train_step.py).
    BenchTrain(commands::bench_train::Args),
    /// Time a model's forward pass on the CPU (compare with tools/bench_infer.py).
    BenchInfer(commands::bench_infer::Args),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Upscale(args) => commands::upscale::run(args),
        Command::Video(args) => commands::video::run(args),
        Command::Downscale(args) => commands::downscale::run(args),
        Command::Eval(args) => commands::eval::run(args),
        Command::Report(args) => commands::report::run(args),
        Command::Text(args) => commands::text::run(args),
        Command::Models(args) => commands::models::run(args),
        Command::Info(args) => commands::info::run(args),
        Command::Export(args) => commands::export::run(args),
        Command::Quantize(args) => commands::quantize::run(args),
        Command::Search(args) => commands::search::run(args),
        Command::Train(args) => commands::train::run(args),
        Command::Serve(args) => commands::serve::run(args),
        Command::BenchTrain(args) => commands::bench_train::run(args),
        Command::BenchInfer(args) => commands::bench_infer::run(args),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        // The reader of our output went away (`upres info F | head`): nothing left to say.
        Err(err)
            if err
                .downcast_ref::<std::io::Error>()
                .is_some_and(|e| e.kind() == std::io::ErrorKind::BrokenPipe) =>
        {
            ExitCode::SUCCESS
        }
        Err(err) => {
            // One line: the error and its causes, joined.
            eprintln!("upres: error: {err:#}");
            ExitCode::FAILURE
        }
    }
}
