//! What the papers reported: Y-PSNR / SSIM on the standard test sets with bicubic (BI) inputs,
//! for the methods upres knows by name, so that a report can set its own numbers beside them.

/// A published result of one method on one test set at one scale.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Published {
    /// The test set (`Set5`, `Set14`, `B100`).
    pub dataset: &'static str,
    pub scale: usize,
    /// Y-PSNR in dB.
    pub psnr: f64,
    /// SSIM on Y, where the source gives it.
    pub ssim: Option<f64>,
    /// Where the figure comes from.
    pub source: &'static str,
}

/// The table of the RCAN paper, which recomputed every earlier method under one protocol.
const RCAN_TABLE: &str = "RCAN (Zhang et al., ECCV 2018), Table 3";
const EDSR_PAPER: &str = "EDSR (Lim et al., CVPRW 2017), baseline model";
const SRGAN_PAPER: &str = "SRGAN (Ledig et al., CVPR 2017), Table 2";
const ESPCN_PAPER: &str = "ESPCN (Shi et al., CVPR 2016), trained on T91";
const ESRGAN_PAPER: &str = "ESRGAN (Wang et al., ECCVW 2018), RRDB trained for PSNR";

/// Rows of (scale, [Set5, Set14, B100]) as (PSNR, SSIM) pairs.
type Rows = [(usize, [(f64, f64); 3])];

const BICUBIC: &Rows = &[
    (2, [(33.66, 0.9299), (30.24, 0.8688), (29.56, 0.8431)]),
    (3, [(30.39, 0.8682), (27.55, 0.7742), (27.21, 0.7385)]),
    (4, [(28.42, 0.8104), (26.00, 0.7027), (25.96, 0.6675)]),
];
const SRCNN: &Rows = &[
    (2, [(36.66, 0.9542), (32.45, 0.9067), (31.36, 0.8879)]),
    (3, [(32.75, 0.9090), (29.30, 0.8215), (28.41, 0.7863)]),
    (4, [(30.48, 0.8628), (27.50, 0.7513), (26.90, 0.7101)]),
];
const FSRCNN: &Rows = &[
    (2, [(37.05, 0.9560), (32.66, 0.9090), (31.53, 0.8920)]),
    (3, [(33.18, 0.9140), (29.37, 0.8240), (28.53, 0.7910)]),
    (4, [(30.72, 0.8660), (27.61, 0.7550), (26.98, 0.7150)]),
];
const EDSR_BASELINE: &Rows = &[
    (2, [(37.99, 0.9604), (33.57, 0.9175), (32.16, 0.8994)]),
    (3, [(34.37, 0.9270), (30.28, 0.8417), (29.09, 0.8052)]),
    (4, [(32.09, 0.8938), (28.58, 0.7813), (27.57, 0.7357)]),
];
const EDSR: &Rows = &[
    (2, [(38.11, 0.9602), (33.92, 0.9195), (32.32, 0.9013)]),
    (3, [(34.65, 0.9280), (30.52, 0.8462), (29.25, 0.8093)]),
    (4, [(32.46, 0.8968), (28.80, 0.7876), (27.71, 0.7420)]),
];
const RCAN: &Rows = &[
    (2, [(38.27, 0.9614), (34.12, 0.9216), (32.41, 0.9027)]),
    (3, [(34.74, 0.9299), (30.65, 0.8482), (29.32, 0.8111)]),
    (4, [(32.63, 0.9002), (28.87, 0.7889), (27.77, 0.7436)]),
];
const DATASETS: [&str; 3] = ["Set5", "Set14", "B100"];

fn rows(rows: &Rows, source: &'static str) -> Vec<Published> {
    rows.iter()
        .flat_map(|&(scale, sets)| {
            DATASETS
                .iter()
                .zip(sets)
                .map(move |(&dataset, (psnr, ssim))| Published {
                    dataset,
                    scale,
                    psnr,
                    ssim: Some(ssim),
                    source,
                })
        })
        .collect()
}

/// The published results for a method: `bicubic`, or a registered architecture's name
/// (`fsrcnn-y`, `edsr-baseline`, ...) with the paper's hyper-parameters. Luma and RGB variants
/// of the early networks share their paper's figures (the papers trained on luma).
pub fn published(method: &str) -> Vec<Published> {
    match method {
        "bicubic" => rows(BICUBIC, RCAN_TABLE),
        "srcnn" | "srcnn-y" => rows(SRCNN, RCAN_TABLE),
        "fsrcnn" | "fsrcnn-y" => rows(FSRCNN, RCAN_TABLE),
        "espcn" | "espcn-y" => vec![Published {
            dataset: "Set5",
            scale: 3,
            psnr: 32.55,
            ssim: None,
            source: ESPCN_PAPER,
        }],
        "edsr-baseline" => rows(EDSR_BASELINE, EDSR_PAPER),
        "edsr" => rows(EDSR, RCAN_TABLE),
        "rcan" => rows(RCAN, RCAN_TABLE),
        "srresnet" => rows(
            &[(4, [(32.05, 0.9019), (28.49, 0.8184), (27.58, 0.7620)])],
            SRGAN_PAPER,
        ),
        "rrdbnet" => rows(
            &[(4, [(32.73, 0.9011), (28.99, 0.7917), (27.85, 0.7455)])],
            ESRGAN_PAPER,
        ),
        _ => Vec::new(),
    }
}

/// The published result for `dataset` at `scale` among `results`; `BSD100` and `B100` are
/// the same set.
pub fn find<'a>(results: &'a [Published], dataset: &str, scale: usize) -> Option<&'a Published> {
    let canonical = |name: &str| match name.to_ascii_lowercase().as_str() {
        "bsd100" | "b100" => "b100".to_string(),
        other => other.to_string(),
    };
    let wanted = canonical(dataset);
    results
        .iter()
        .find(|p| p.scale == scale && canonical(p.dataset) == wanted)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_issue_bars_are_the_published_figures() {
        let edsr = published("edsr-baseline");
        let set5: Vec<f64> = [2, 3, 4]
            .iter()
            .map(|&s| find(&edsr, "Set5", s).unwrap().psnr)
            .collect();
        assert_eq!(set5, [37.99, 34.37, 32.09]);
        assert_eq!(find(&published("rcan"), "Set5", 4).unwrap().psnr, 32.63);
        assert_eq!(find(&published("srresnet"), "Set5", 4).unwrap().psnr, 32.05);
        assert_eq!(find(&published("espcn-y"), "Set5", 3).unwrap().psnr, 32.55);
        assert!(find(&published("espcn-y"), "Set14", 3).is_none());
        assert_eq!(
            find(&published("fsrcnn-y"), "BSD100", 3).unwrap().psnr,
            28.53
        );
        assert!(published("unet-sr").is_empty());
    }

    #[test]
    fn every_method_improves_on_bicubic() {
        let bicubic = published("bicubic");
        for method in [
            "srcnn",
            "fsrcnn",
            "edsr-baseline",
            "edsr",
            "rcan",
            "srresnet",
            "rrdbnet",
        ] {
            for p in published(method) {
                let base = find(&bicubic, p.dataset, p.scale).unwrap();
                assert!(p.psnr > base.psnr + 0.5, "{method} {p:?}");
                assert!(p.ssim.unwrap() > base.ssim.unwrap(), "{method} {p:?}");
            }
        }
    }
}
