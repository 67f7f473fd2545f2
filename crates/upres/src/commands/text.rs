use std::path::PathBuf;

use upres_image::io::{self, WriteOptions};
use upres_infer::model::AlphaMode;
use upres_metrics::text::{DEFAULT_FONT, PageLayout, TextFont, TextPage, evaluate_text};

#[derive(clap::Args)]
pub struct Args {
    #[command(subcommand)]
    command: TextCommand,
}

#[derive(clap::Subcommand)]
enum TextCommand {
    /// Render pages of random text into OUT/HR/, a folder `upres train` and `upres eval` read.
    Pages(PagesArgs),
    /// Score methods on rendered text: Y-PSNR/SSIM, edge sharpness, character accuracy and,
    /// with --ocr, Tesseract's character error rate.
    Eval(EvalArgs),
}

/// Font and page shape, shared by both subcommands.
#[derive(clap::Args)]
struct PageArgs {
    /// A TrueType font; monospaced, so that characters sit on a grid.
    #[arg(long, default_value = DEFAULT_FONT)]
    font: PathBuf,
    /// Text size in pixels (the font's em) at the high resolution.
    #[arg(long, default_value_t = 16.0)]
    size: f32,
    /// Characters per line.
    #[arg(long, default_value_t = 40)]
    columns: usize,
    /// Lines per page.
    #[arg(long, default_value_t = 16)]
    rows: usize,
}

impl PageArgs {
    fn open(&self) -> anyhow::Result<(TextFont, PageLayout)> {
        anyhow::ensure!(
            self.columns > 0 && self.rows > 0,
            "--columns and --rows must be positive"
        );
        let font = TextFont::open(&self.font, self.size)?;
        let layout = PageLayout {
            columns: self.columns,
            rows: self.rows,
            ..PageLayout::default()
        };
        Ok((font, layout))
    }
}

#[derive(clap::Args)]
struct PagesArgs {
    /// Output folder; pages go to OUT/HR/page_<size>_<seed>.png.
    #[arg(short, long)]
    out: PathBuf,
    /// Number of pages.
    #[arg(long, default_value_t = 50)]
    pages: u64,
    /// Seed of the first page (each page's seed is one more).
    #[arg(long, default_value_t = 0)]
    seed: u64,
    #[command(flatten)]
    page: PageArgs,
}

#[derive(clap::Args)]
struct EvalArgs {
    /// Methods to score (bicubic, a built-in model, a model file or run); repeatable.
    #[arg(short, long, default_values_t = ["bicubic".to_string()])]
    model: Vec<String>,
    /// Upscaling factor.
    #[arg(short, long, default_value_t = 2)]
    scale: usize,
    /// Number of pages.
    #[arg(long, default_value_t = 8)]
    pages: u64,
    /// Seed of the first page; keep it away from the training pages' seeds.
    #[arg(long, default_value_t = 1_000_000)]
    seed: u64,
    /// Also read every page with Tesseract (Debian's tesseract-ocr) and report its character
    /// error rate against the known text.
    #[arg(long)]
    ocr: bool,
    #[command(flatten)]
    page: PageArgs,
}

pub fn run(args: Args) -> anyhow::Result<()> {
    match args.command {
        TextCommand::Pages(args) => pages(args),
        TextCommand::Eval(args) => eval(args),
    }
}

fn pages(args: PagesArgs) -> anyhow::Result<()> {
    let (font, layout) = args.page.open()?;
    let dir = args.out.join("HR");
    std::fs::create_dir_all(&dir).map_err(|e| anyhow::anyhow!("{}: {e}", dir.display()))?;
    for seed in args.seed..args.seed + args.pages {
        let page = TextPage::render(&font, layout, seed)?;
        let path = dir.join(format!("page_{}_{seed}.png", args.page.size));
        let options = WriteOptions {
            overwrite: true,
            ..WriteOptions::default()
        };
        io::write(&path, &page.image, &Default::default(), options)?;
    }
    println!("{} pages in {}", args.pages, dir.display());
    Ok(())
}

fn eval(args: EvalArgs) -> anyhow::Result<()> {
    anyhow::ensure!(args.scale >= 2, "--scale must be at least 2");
    let (font, layout) = args.page.open()?;
    let (w, h) = font.cell();
    println!(
        "{} pages, {} px text ({w}x{h} cells) at x{}: LR text {:.1} px",
        args.pages,
        args.page.size,
        args.scale,
        args.page.size / args.scale as f32
    );
    println!(
        "{:<24} {:>8} {:>8} {:>10} {:>11} {:>9}",
        "method",
        "psnr_y",
        "ssim_y",
        "sharpness",
        "characters",
        if args.ocr { "ocr_cer" } else { "" }
    );
    for name in &args.model {
        let method = super::method(name, AlphaMode::Model)?;
        let scores = evaluate_text(
            method.as_ref(),
            &font,
            layout,
            args.seed..args.seed + args.pages,
            args.scale,
            args.ocr,
        )?;
        println!(
            "{:<24} {:>8.3} {:>8.4} {:>10.3} {:>10.1}% {:>9}",
            name,
            scores.mean.psnr,
            scores.mean.ssim,
            scores.sharpness,
            100.0 * scores.characters,
            scores
                .ocr_error
                .map(|e| format!("{:.1}%", 100.0 * e))
                .unwrap_or_default()
        );
    }
    Ok(())
}
