//! Where training runs, and in what precision. The CPU backend is always built in; LibTorch
//! (`tch`, PyTorch's own kernels, on the CPU or a CUDA GPU) and wgpu come with the Cargo
//! features of the same names.

use std::fmt;
use std::str::FromStr;

use burn::tensor::{Device, FloatDType, Tensor};
use upres_models::{CastOps, SrNetwork};

use crate::error::TrainError;

/// The float type a training step's forward and backward passes compute in. The weights, the
/// optimizer's state, the loss and validation stay f32 either way.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Precision {
    /// Everything in f32.
    #[default]
    F32,
    /// Mixed precision: convolutions and activations in bfloat16 (f32's range, 8 significant
    /// bits), as PyTorch's autocast runs them. Faster where the hardware has bf16 arithmetic (a
    /// GPU's tensor cores through `tch-cuda`); on a CPU without it, slower than f32.
    Bf16,
}

impl FromStr for Precision {
    type Err = TrainError;

    fn from_str(name: &str) -> Result<Self, TrainError> {
        match name {
            "f32" => Ok(Self::F32),
            "bf16" => Ok(Self::Bf16),
            other => Err(TrainError::Precision(other.into())),
        }
    }
}

impl fmt::Display for Precision {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::F32 => "f32",
            Self::Bf16 => "bf16",
        })
    }
}

impl Precision {
    /// Runs `network` on `x` in this precision; the output is f32.
    pub fn forward(self, network: &SrNetwork, x: Tensor<4>) -> Tensor<4> {
        match self {
            Self::F32 => network.forward(x),
            Self::Bf16 => {
                let ops = CastOps {
                    dtype: FloatDType::BF16,
                };
                network.run(&ops, x).cast(FloatDType::F32)
            }
        }
    }
}

/// The names [`training_device`] takes, for help texts.
pub const DEVICE_NAMES: &str = "flex (the default CPU backend), tch (LibTorch on the CPU), \
                                tch-cuda or tch-cuda:N (LibTorch on CUDA GPU N), wgpu";

/// The device a name stands for, or why this build cannot train there.
pub fn training_device(name: &str) -> Result<Device, TrainError> {
    let unbuilt = |feature: &str| TrainError::Device {
        name: name.into(),
        message: format!("this upres was built without the `{feature}` feature"),
    };
    match name {
        "flex" => Ok(Device::flex()),
        "tch" => libtorch(None).ok_or_else(|| unbuilt("tch")),
        "wgpu" => wgpu().ok_or_else(|| unbuilt("wgpu")),
        other => {
            let index = match other.strip_prefix("tch-cuda") {
                Some("") => 0,
                Some(rest) => rest
                    .strip_prefix(':')
                    .and_then(|n| n.parse().ok())
                    .ok_or_else(|| unknown(name))?,
                None => return Err(unknown(name)),
            };
            libtorch(Some(index)).ok_or_else(|| unbuilt("tch"))
        }
    }
}

fn unknown(name: &str) -> TrainError {
    TrainError::Device {
        name: name.into(),
        message: format!("unknown device; use {DEVICE_NAMES}"),
    }
}

/// LibTorch on the CPU, or on CUDA device `cuda`.
#[allow(deprecated)] // burn-tch is deprecated upstream but is the only PyTorch-speed GPU path here
fn libtorch(cuda: Option<usize>) -> Option<Device> {
    #[cfg(feature = "tch")]
    return Some(match cuda {
        None => Device::libtorch(),
        Some(index) => Device::libtorch_cuda(index),
    });
    #[cfg(not(feature = "tch"))]
    {
        let _ = cuda;
        None
    }
}

fn wgpu() -> Option<Device> {
    #[cfg(feature = "wgpu")]
    return Some(Device::wgpu(Default::default()));
    #[cfg(not(feature = "wgpu"))]
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn precisions_by_name() {
        assert_eq!("f32".parse::<Precision>().unwrap(), Precision::F32);
        assert_eq!("bf16".parse::<Precision>().unwrap(), Precision::Bf16);
        let err = "fp16".parse::<Precision>().unwrap_err().to_string();
        assert!(err.contains("fp16") && err.contains("bf16"), "{err}");
    }

    #[test]
    fn names_pick_devices_or_say_why_not() {
        assert_eq!(training_device("flex").unwrap(), Device::flex());
        for bad in ["gpu", "tch-cuda:x", "tch-cudaa", "tch-cuda:"] {
            let err = training_device(bad).unwrap_err().to_string();
            assert!(err.contains("unknown device"), "{bad}: {err}");
        }
        #[cfg(not(feature = "tch"))]
        for name in ["tch", "tch-cuda", "tch-cuda:1"] {
            let err = training_device(name).unwrap_err().to_string();
            assert!(err.contains("without the `tch` feature"), "{name}: {err}");
        }
    }
}
