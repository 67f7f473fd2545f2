//! What makes a model an INT8 model: the calibrated input range of each convolution that runs
//! in 8 bits. Weights stay `f32` in the file and are quantized when an engine packs them, so
//! one file serves the float and the INT8 engines and the quantization can be redone.

use serde_json::{Value, json};

/// Metadata key of the INT8 calibration in upres model files.
pub const META_INT8: &str = "upres.int8";

/// Calibrated input ranges, per 2-D convolution in the order the network runs them
/// (see [`crate::CostOps::convolutions`]).
#[derive(Debug, Clone, PartialEq)]
pub struct Int8Calibration {
    /// How the ranges were chosen, for people: `min-max` or `percentile 99.99`.
    pub method: String,
    /// How the weights were rounded to 8 bits, for people: `nearest` (by every engine that
    /// packs them, files from before the field) or `GPTQ` (the file's weights were moved onto
    /// the grid they quantize to).
    pub rounding: String,
    /// Calibration images.
    pub images: usize,
    /// `Some([min, max])` for a convolution whose input is quantized over that range, `None`
    /// for one that stays `f32`.
    pub inputs: Vec<Option<[f32; 2]>>,
}

impl Int8Calibration {
    /// The metadata value.
    pub fn to_json(&self) -> String {
        let inputs: Vec<Value> = self
            .inputs
            .iter()
            .map(|range| range.map_or(Value::Null, |[lo, hi]| json!([lo, hi])))
            .collect();
        json!({
            "method": self.method,
            "rounding": self.rounding,
            "images": self.images,
            "inputs": inputs
        })
        .to_string()
    }

    /// Reads the metadata value; the error says what is wrong.
    pub fn from_json(text: &str) -> Result<Self, String> {
        let value: Value = serde_json::from_str(text).map_err(|e| e.to_string())?;
        let range = |v: &Value| -> Result<Option<[f32; 2]>, String> {
            if v.is_null() {
                return Ok(None);
            }
            match v
                .as_array()
                .map(|a| a.iter().map(Value::as_f64).collect::<Vec<_>>())
            {
                Some(bounds) if bounds.len() == 2 && bounds.iter().all(Option::is_some) => {
                    let (lo, hi) = (bounds[0].unwrap() as f32, bounds[1].unwrap() as f32);
                    if lo <= hi && lo.is_finite() && hi.is_finite() {
                        return Ok(Some([lo, hi]));
                    }
                    Err(format!("range [{lo}, {hi}] is not an interval"))
                }
                _ => Err(format!("{v} is not a [min, max] range or null")),
            }
        };
        Ok(Self {
            method: value["method"].as_str().ok_or("no `method`")?.to_string(),
            rounding: value["rounding"].as_str().unwrap_or("nearest").to_string(),
            images: value["images"].as_u64().ok_or("no `images` count")? as usize,
            inputs: value["inputs"]
                .as_array()
                .ok_or("no `inputs` list")?
                .iter()
                .map(range)
                .collect::<Result<_, _>>()?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_round_trip_and_errors() {
        let calibration = Int8Calibration {
            method: "percentile 99.99".into(),
            rounding: "GPTQ".into(),
            images: 12,
            inputs: vec![None, Some([-0.5, 2.25]), Some([0.0, 1.0])],
        };
        let text = calibration.to_json();
        assert_eq!(Int8Calibration::from_json(&text).unwrap(), calibration);
        let older = r#"{"method":"min-max","images":1,"inputs":[null]}"#;
        assert_eq!(
            Int8Calibration::from_json(older).unwrap().rounding,
            "nearest"
        );
        for bad in [
            "{}",
            r#"{"method":"m","images":1,"inputs":[[1.0]]}"#,
            r#"{"method":"m","images":1,"inputs":[[2.0, 1.0]]}"#,
        ] {
            assert!(Int8Calibration::from_json(bad).is_err(), "{bad}");
        }
    }
}
