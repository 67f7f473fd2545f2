//! The architectures, one file each, and [`SrNetwork`], which holds any of them.

pub mod common;
pub mod edsr;
pub mod espcn;
pub mod fsrcnn;
pub mod rcan;
pub mod rrdbnet;
pub mod srcnn;
pub mod srresnet;
pub mod srvgg;
pub mod unet;

use burn::module::Module;
use burn::store::ModuleSnapshot;
use burn::tensor::Tensor;

use crate::ops::{BurnOps, SrOps};
use crate::weights::{FixedTensor, PytorchKeys};

pub use edsr::{Edsr, EdsrConfig};
pub use espcn::{Espcn, EspcnConfig};
pub use fsrcnn::{Fsrcnn, FsrcnnConfig};
pub use rcan::{Rcan, RcanConfig};
pub use rrdbnet::{RrdbNet, RrdbNetConfig};
pub use srcnn::{Srcnn, SrcnnConfig};
pub use srresnet::{MsrResNet, MsrResNetConfig, SrResNet, SrResNetConfig};
pub use srvgg::{SrVgg, SrVggConfig};
pub use unet::{UNetSr, UNetSrConfig};

/// Any architecture, so that a model chosen by name at run time can be run, saved and loaded.
/// Parameter paths are those of the wrapped architecture (the variant adds no prefix).
// Variants differ in size, but a network is built once and then only borrowed; burn's
// `Module` derive does not cover boxed variants.
#[allow(clippy::large_enum_variant)]
#[derive(Module, Debug)]
pub enum SrNetwork {
    /// SRCNN (takes the bicubic-upscaled image).
    Srcnn(Srcnn),
    /// FSRCNN.
    Fsrcnn(Fsrcnn),
    /// ESPCN.
    Espcn(Espcn),
    /// EDSR (baseline or full).
    Edsr(Edsr),
    /// RCAN.
    Rcan(Rcan),
    /// SRResNet with batch norm.
    SrResNet(SrResNet),
    /// BasicSR's MSRResNet.
    MsrResNet(MsrResNet),
    /// RRDBNet (ESRGAN, Real-ESRGAN).
    RrdbNet(RrdbNet),
    /// SRVGGNetCompact.
    SrVgg(SrVgg),
    /// U-Net SR.
    UNetSr(UNetSr),
}

macro_rules! each_network {
    ($self:expr, $net:ident => $body:expr) => {
        match $self {
            SrNetwork::Srcnn($net) => $body,
            SrNetwork::Fsrcnn($net) => $body,
            SrNetwork::Espcn($net) => $body,
            SrNetwork::Edsr($net) => $body,
            SrNetwork::Rcan($net) => $body,
            SrNetwork::SrResNet($net) => $body,
            SrNetwork::MsrResNet($net) => $body,
            SrNetwork::RrdbNet($net) => $body,
            SrNetwork::SrVgg($net) => $body,
            SrNetwork::UNetSr($net) => $body,
        }
    };
}

/// Trainable parameters of a module, counted as PyTorch's `model.parameters()` does: batch
/// norm running statistics (which burn's `num_params` includes) are buffers, not parameters.
pub fn trainable_params<M: ModuleSnapshot>(module: &M) -> usize {
    module
        .collect(None, None, true)
        .iter()
        .filter(|t| !t.name.ends_with(".running_mean") && !t.name.ends_with(".running_var"))
        .map(|t| t.shape.num_elements())
        .sum()
}

impl SrNetwork {
    /// Runs the network on an NCHW batch with values in [0, 1], on burn tensors.
    pub fn forward(&self, x: Tensor<4>) -> Tensor<4> {
        self.run(&BurnOps, x)
    }

    /// Runs the network with any implementation of its operations.
    pub fn run<O: SrOps>(&self, ops: &O, x: O::Tensor) -> O::Tensor {
        each_network!(self, net => net.run(ops, x))
    }
}

impl PytorchKeys for SrNetwork {
    fn pytorch_key(&self, param: &str) -> Option<String> {
        each_network!(self, net => net.pytorch_key(param))
    }

    fn fixed_tensors(&self) -> Vec<FixedTensor> {
        each_network!(self, net => net.fixed_tensors())
    }
}
