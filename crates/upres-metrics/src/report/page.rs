//! The report's pages: the same tables and figures as HTML (one self-contained page beside
//! its PNG grids) and as Markdown.

use super::{Figure, Report, Row, Table};
use upres_image::degrade::TestDegradation;

/// The protocol, said once at the top of both pages.
fn protocol(report: &Report) -> String {
    let perceptual = match &report.perceptual {
        Some(name) => {
            format!(" {name} is computed on RGB with the same border cropped (lower is closer).")
        }
        None => String::new(),
    };
    format!(
        "PSNR (dB) and SSIM on the Y channel of BT.601 YCbCr, with `scale` pixels cropped \
         from each border; LR inputs made from the HR images by MATLAB-compatible bicubic \
         `imresize` (BI) or the named degradation.{perceptual} Published figures are for \
         BI inputs. Crops: {size}x{size} HR pixels, enlarged {zoom}x by repeating pixels; the \
         number under each is the Y-PSNR of that crop.",
        size = report.crop_size,
        zoom = report.zoom,
    )
}

/// Every distinct source of a published figure, in order of first use.
fn sources(report: &Report) -> Vec<&'static str> {
    let mut all: Vec<&'static str> = Vec::new();
    for row in report.tables.iter().flat_map(|t| &t.rows) {
        if let Some(p) = row.published
            && !all.contains(&p.source)
        {
            all.push(p.source);
        }
    }
    all
}

fn heading(dataset: &str, scale: usize, degradation: TestDegradation) -> String {
    format!("{dataset} x{scale}, {degradation}")
}

/// The cells of a row after the method's name, as text.
fn cells(row: &Row, table: &Table, report: &Report, sources: &[&str]) -> Vec<String> {
    let mean = row.scores.mean;
    let mut cells = vec![format!("{:.3}", mean.psnr), format!("{:.4}", mean.ssim)];
    if report.perceptual.is_some() {
        cells.push(
            row.scores
                .perceptual
                .as_ref()
                .map_or("—".into(), |(_, v)| format!("{v:.4}")),
        );
    }
    if table.degradation == TestDegradation::Bi {
        match row.published {
            Some(p) => {
                let n = sources.iter().position(|s| *s == p.source).unwrap_or(0) + 1;
                cells.push(format!("{:.2} [{n}]", p.psnr));
                cells.push(p.ssim.map_or("—".into(), |s| format!("{s:.4}")));
                // Rounded first, so that a difference below 0.005 dB shows as +0.00, not -0.00.
                let difference = ((mean.psnr - p.psnr) * 100.0).round() / 100.0 + 0.0;
                cells.push(format!("{difference:+.2}"));
            }
            None => cells.extend(["—", "—", "—"].map(String::from)),
        }
    }
    cells
}

fn header(table: &Table, report: &Report) -> Vec<String> {
    let mut header = vec!["method", "PSNR", "SSIM"];
    if let Some(name) = &report.perceptual {
        header.push(name);
    }
    if table.degradation == TestDegradation::Bi {
        header.extend(["paper PSNR", "paper SSIM", "Δ PSNR"]);
    }
    header.into_iter().map(String::from).collect()
}

fn caption(figure: &Figure) -> String {
    let r = &figure.region;
    format!(
        "{} x{}, {}: {} of {}, at {},{} (HR pixels).",
        figure.dataset,
        figure.scale,
        figure.degradation,
        r.kind.name(),
        r.name,
        r.x,
        r.y
    )
}

fn figures_of<'a>(report: &'a Report, table: &'a Table) -> impl Iterator<Item = &'a Figure> {
    report.figures.iter().filter(|f| {
        f.dataset == table.dataset && f.scale == table.scale && f.degradation == table.degradation
    })
}

/// The report as Markdown.
pub fn markdown(report: &Report) -> String {
    let sources = sources(report);
    let mut out = format!(
        "# Evaluation report\n\nMade with `{}`.\n\n{}\n",
        report.command,
        protocol(report)
    );
    for table in &report.tables {
        out += &format!(
            "\n## {}\n\n",
            heading(&table.dataset, table.scale, table.degradation)
        );
        let header = header(table, report);
        out += &format!("| {} |\n", header.join(" | "));
        out += &format!("|{}\n", " --- |".repeat(header.len()));
        for row in &table.rows {
            let cells = cells(row, table, report, &sources);
            out += &format!("| `{}` | {} |\n", row.method, cells.join(" | "));
        }
        for figure in figures_of(report, table) {
            out += &format!("\n![{}]({})\n", caption(figure), figure.file);
        }
    }
    if !sources.is_empty() {
        out += "\n## Published figures\n\n";
        for (i, source) in sources.iter().enumerate() {
            out += &format!("{}. {source}\n", i + 1);
        }
    }
    out
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// Markdown's inline code as HTML.
fn code_spans(text: &str) -> String {
    escape(text)
        .split('`')
        .enumerate()
        .map(|(i, part)| {
            if i % 2 == 1 {
                format!("<code>{part}</code>")
            } else {
                part.to_string()
            }
        })
        .collect()
}

const STYLE: &str = "body{font-family:system-ui,sans-serif;max-width:72rem;margin:2rem auto;\
padding:0 1rem;color:#1a1a1a}table{border-collapse:collapse;margin:1rem 0}\
th,td{padding:.3rem .7rem;border-bottom:1px solid #ddd;text-align:right}\
th:first-child,td:first-child{text-align:left}figure{margin:1rem 0;overflow-x:auto}\
img{image-rendering:pixelated}figcaption{color:#555;font-size:.9rem}";

/// The report as one HTML page; the grids are linked beside it.
pub fn html(report: &Report) -> String {
    let sources = sources(report);
    let mut out = format!(
        "<!doctype html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <title>Evaluation report</title>\n<style>{STYLE}</style>\n</head>\n<body>\n\
         <h1>Evaluation report</h1>\n<p>Made with <code>{}</code>.</p>\n<p>{}</p>\n",
        escape(&report.command),
        code_spans(&protocol(report))
    );
    for table in &report.tables {
        out += &format!(
            "<h2>{}</h2>\n<table>\n<thead><tr>",
            escape(&heading(&table.dataset, table.scale, table.degradation))
        );
        for h in header(table, report) {
            out += &format!("<th>{}</th>", escape(&h));
        }
        out += "</tr></thead>\n<tbody>\n";
        for row in &table.rows {
            out += &format!("<tr><td><code>{}</code></td>", escape(&row.method));
            for cell in cells(row, table, report, &sources) {
                out += &format!("<td>{}</td>", escape(&cell));
            }
            out += "</tr>\n";
        }
        out += "</tbody>\n</table>\n";
        for figure in figures_of(report, table) {
            let caption = escape(&caption(figure));
            out += &format!(
                "<figure><img src=\"{}\" alt=\"{caption}\" width=\"{}\" height=\"{}\">\
                 <figcaption>{caption}</figcaption></figure>\n",
                escape(&figure.file),
                figure.grid.width(),
                figure.grid.height()
            );
        }
    }
    if !sources.is_empty() {
        out += "<h2>Published figures</h2>\n<ol>\n";
        for source in sources {
            out += &format!("<li>{}</li>\n", escape(source));
        }
        out += "</ol>\n";
    }
    out + "</body>\n</html>\n"
}
