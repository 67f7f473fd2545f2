//! Exporting upres models to other runtimes.
//!
//! - [`onnx`]: an ONNX graph (opset 17, dynamic batch, height and width) built by running
//!   the architecture's own definition on [`onnx::OnnxOps`], which records each operation as
//!   a node and each layer's weights as initializers.

pub mod onnx;

pub use onnx::{ExportError, export_onnx, onnx_model};
