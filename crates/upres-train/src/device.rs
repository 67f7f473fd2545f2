//! Where training runs. The CPU backend is always built in; LibTorch (`tch`, PyTorch's own
//! kernels, on the CPU or a CUDA GPU) and wgpu come with the Cargo features of the same names.

use burn::tensor::Device;

use crate::error::TrainError;

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
