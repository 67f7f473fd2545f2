//! ONNX export: the architecture's own definition run on [`OnnxOps`], which appends one node
//! per operation (opset 17) and stores each layer's weights as initializers.
//!
//! The graph takes `input` `[batch, C, height, width]` with all three axes dynamic and returns
//! `output`. PixelShuffle is `DepthToSpace` in `CRD` mode (PyTorch's channel order); pixel
//! unshuffle is `SpaceToDepth` followed by a `Gather` that reorders its channels from ONNX's
//! order to PyTorch's.

use std::cell::RefCell;
use std::path::Path;

use burn::nn::conv::{Conv2d, ConvTranspose2d};
use burn::nn::{BatchNorm, PaddingConfig2d};
use onnx_protobuf::attribute_proto::AttributeType;
use onnx_protobuf::tensor_proto::DataType;
use onnx_protobuf::tensor_shape_proto::{Dimension, dimension};
use onnx_protobuf::type_proto::{self, Value as TypeValue};
use onnx_protobuf::{
    AttributeProto, GraphProto, Message, ModelProto, NodeProto, OperatorSetIdProto, TensorProto,
    TensorShapeProto, TypeProto, ValueInfoProto,
};
use upres_models::{Activation, ModelError, SrModel, SrOps, Upsample, layer_values as values};

/// The opset the graph is written for (DepthToSpace's `CRD` mode needs 11; 17 is what the
/// deployment targets ask for).
const OPSET: i64 = 17;
/// The ONNX IR version of opset 17.
const IR_VERSION: i64 = 8;

/// Why an export failed.
#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    /// The model refused the nominal input the graph is traced with.
    #[error(transparent)]
    Model(#[from] ModelError),
    /// Writing the file failed.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: String,
        /// The error.
        source: std::io::Error,
    },
    /// Serialising the protobuf failed.
    #[error("encoding the ONNX graph: {0}")]
    Encode(#[from] protobuf::Error),
}

/// A value of the graph: its name and channel count (the spatial sizes stay symbolic).
#[derive(Debug, Clone)]
pub struct OnnxValue {
    name: String,
    channels: usize,
}

/// [`SrOps`] that records a graph instead of computing.
#[derive(Default)]
pub struct OnnxOps {
    graph: RefCell<GraphProto>,
}

fn ints(name: &str, values: &[usize]) -> AttributeProto {
    AttributeProto {
        name: name.into(),
        type_: AttributeType::INTS.into(),
        ints: values.iter().map(|&v| v as i64).collect(),
        ..Default::default()
    }
}

fn int(name: &str, value: usize) -> AttributeProto {
    AttributeProto {
        name: name.into(),
        type_: AttributeType::INT.into(),
        i: value as i64,
        ..Default::default()
    }
}

fn float(name: &str, value: f32) -> AttributeProto {
    AttributeProto {
        name: name.into(),
        type_: AttributeType::FLOAT.into(),
        f: value,
        ..Default::default()
    }
}

fn string(name: &str, value: &str) -> AttributeProto {
    AttributeProto {
        name: name.into(),
        type_: AttributeType::STRING.into(),
        s: value.as_bytes().to_vec(),
        ..Default::default()
    }
}

impl OnnxOps {
    /// Adds a node with a fresh output name; returns that name.
    fn node(&self, op: &str, inputs: Vec<String>, attribute: Vec<AttributeProto>) -> String {
        let mut graph = self.graph.borrow_mut();
        let output = format!("{}_{}", op.to_lowercase(), graph.node.len());
        graph.node.push(NodeProto {
            op_type: op.into(),
            name: output.clone(),
            input: inputs,
            output: vec![output.clone()],
            attribute,
            ..Default::default()
        });
        output
    }

    /// Adds a float initializer; returns its name.
    fn constant(&self, dims: &[usize], values: Vec<f32>) -> String {
        let mut graph = self.graph.borrow_mut();
        let name = format!("const_{}", graph.initializer.len());
        graph.initializer.push(TensorProto {
            name: name.clone(),
            dims: dims.iter().map(|&d| d as i64).collect(),
            data_type: DataType::FLOAT as i32,
            float_data: values,
            ..Default::default()
        });
        name
    }

    /// Adds an int64 initializer; returns its name.
    fn int_constant(&self, values: Vec<i64>) -> String {
        let mut graph = self.graph.borrow_mut();
        let name = format!("const_{}", graph.initializer.len());
        graph.initializer.push(TensorProto {
            name: name.clone(),
            dims: vec![values.len() as i64],
            data_type: DataType::INT64 as i32,
            int64_data: values,
            ..Default::default()
        });
        name
    }

    fn unary(&self, op: &str, x: OnnxValue, attribute: Vec<AttributeProto>) -> OnnxValue {
        OnnxValue {
            name: self.node(op, vec![x.name], attribute),
            channels: x.channels,
        }
    }
}

impl SrOps for OnnxOps {
    type Tensor = OnnxValue;

    fn conv2d(&self, layer: &Conv2d, x: OnnxValue) -> OnnxValue {
        let [co, ci, kh, kw] = layer.weight.dims();
        let pads = match layer.padding {
            PaddingConfig2d::Explicit(t, l, b, r) => [t, l, b, r],
            PaddingConfig2d::Valid => [0; 4],
            PaddingConfig2d::Same => [kh / 2, kw / 2, (kh - 1) / 2, (kw - 1) / 2],
        };
        let mut inputs = vec![
            x.name,
            self.constant(&[co, ci, kh, kw], values(layer.weight.val())),
        ];
        if let Some(bias) = &layer.bias {
            inputs.push(self.constant(&[co], values(bias.val())));
        }
        let attrs = vec![
            ints("kernel_shape", &[kh, kw]),
            ints("pads", &pads),
            ints("strides", &layer.stride),
            ints("dilations", &layer.dilation),
            int("group", layer.groups),
        ];
        OnnxValue {
            name: self.node("Conv", inputs, attrs),
            channels: co,
        }
    }

    fn conv_transpose2d(&self, layer: &ConvTranspose2d, x: OnnxValue) -> OnnxValue {
        let [ci, co, kh, kw] = layer.weight.dims();
        let mut inputs = vec![
            x.name,
            self.constant(&[ci, co, kh, kw], values(layer.weight.val())),
        ];
        if let Some(bias) = &layer.bias {
            inputs.push(self.constant(&[co * layer.groups], values(bias.val())));
        }
        let [ph, pw] = layer.padding;
        let attrs = vec![
            ints("kernel_shape", &[kh, kw]),
            ints("pads", &[ph, pw, ph, pw]),
            ints("strides", &layer.stride),
            ints("dilations", &layer.dilation),
            ints("output_padding", &layer.padding_out),
            int("group", layer.groups),
        ];
        OnnxValue {
            name: self.node("ConvTranspose", inputs, attrs),
            channels: co * layer.groups,
        }
    }

    fn activation(&self, act: Activation<'_>, x: OnnxValue) -> OnnxValue {
        match act {
            Activation::Relu => self.unary("Relu", x, vec![]),
            Activation::Tanh => self.unary("Tanh", x, vec![]),
            Activation::Sigmoid => self.unary("Sigmoid", x, vec![]),
            Activation::LeakyRelu(slope) => {
                self.unary("LeakyRelu", x, vec![float("alpha", slope as f32)])
            }
            Activation::PRelu(layer) => {
                let slopes = values(layer.alpha.val());
                // One slope per channel broadcasts against NCHW as [C, 1, 1].
                let slope = self.constant(&[slopes.len(), 1, 1], slopes);
                OnnxValue {
                    name: self.node("PRelu", vec![x.name, slope], vec![]),
                    channels: x.channels,
                }
            }
        }
    }

    fn batch_norm(&self, layer: &BatchNorm, x: OnnxValue) -> OnnxValue {
        let c = x.channels;
        let inputs = vec![
            x.name,
            self.constant(&[c], values(layer.gamma.val())),
            self.constant(&[c], values(layer.beta.val())),
            self.constant(&[c], values(layer.running_mean.value())),
            self.constant(&[c], values(layer.running_var.value())),
        ];
        OnnxValue {
            name: self.node(
                "BatchNormalization",
                inputs,
                vec![float("epsilon", layer.epsilon as f32)],
            ),
            channels: c,
        }
    }

    fn add(&self, a: OnnxValue, b: OnnxValue) -> OnnxValue {
        OnnxValue {
            name: self.node("Add", vec![a.name, b.name], vec![]),
            channels: a.channels,
        }
    }

    fn mul_scalar(&self, x: OnnxValue, factor: f64) -> OnnxValue {
        let factor = self.constant(&[], vec![factor as f32]);
        OnnxValue {
            name: self.node("Mul", vec![x.name, factor], vec![]),
            channels: x.channels,
        }
    }

    fn add_per_channel(&self, x: OnnxValue, offsets: &[f64]) -> OnnxValue {
        let values = offsets.iter().map(|&v| v as f32).collect();
        let offsets = self.constant(&[1, offsets.len(), 1, 1], values);
        OnnxValue {
            name: self.node("Add", vec![x.name, offsets], vec![]),
            channels: x.channels,
        }
    }

    fn global_mean(&self, x: OnnxValue) -> OnnxValue {
        self.unary("GlobalAveragePool", x, vec![])
    }

    fn mul_per_channel(&self, x: OnnxValue, gate: OnnxValue) -> OnnxValue {
        OnnxValue {
            name: self.node("Mul", vec![x.name, gate.name], vec![]),
            channels: x.channels,
        }
    }

    fn concat_channels(&self, xs: &[OnnxValue]) -> OnnxValue {
        let channels = xs.iter().map(|x| x.channels).sum();
        let names = xs.iter().map(|x| x.name.clone()).collect();
        OnnxValue {
            name: self.node("Concat", names, vec![int("axis", 1)]),
            channels,
        }
    }

    fn pixel_shuffle(&self, x: OnnxValue, factor: usize) -> OnnxValue {
        let channels = x.channels / (factor * factor);
        let attrs = vec![int("blocksize", factor), string("mode", "CRD")];
        OnnxValue {
            name: self.node("DepthToSpace", vec![x.name], attrs),
            channels,
        }
    }

    fn pixel_unshuffle(&self, x: OnnxValue, factor: usize) -> OnnxValue {
        let (c, r2) = (x.channels, factor * factor);
        let s2d = self.node("SpaceToDepth", vec![x.name], vec![int("blocksize", factor)]);
        // SpaceToDepth puts offset (i, j) of channel c at (i r + j) C + c; PyTorch at
        // c r^2 + i r + j.
        let order = (0..c * r2)
            .map(|k| ((k % r2) * c + k / r2) as i64)
            .collect();
        let order = self.int_constant(order);
        OnnxValue {
            name: self.node("Gather", vec![s2d, order], vec![int("axis", 1)]),
            channels: c * r2,
        }
    }

    fn upsample(&self, x: OnnxValue, factor: usize, mode: Upsample) -> OnnxValue {
        let scales = self.constant(&[4], vec![1.0, 1.0, factor as f32, factor as f32]);
        let attrs = match mode {
            // PyTorch's nearest: source = floor(destination / factor).
            Upsample::Nearest => vec![
                string("mode", "nearest"),
                string("coordinate_transformation_mode", "asymmetric"),
                string("nearest_mode", "floor"),
            ],
            Upsample::Bilinear => vec![
                string("mode", "linear"),
                string("coordinate_transformation_mode", "pytorch_half_pixel"),
            ],
        };
        OnnxValue {
            name: self.node("Resize", vec![x.name, String::new(), scales], attrs),
            channels: x.channels,
        }
    }

    fn rescale_bicubic(&self, x: OnnxValue, to: usize, from: usize) -> OnnxValue {
        let ratio = to as f32 / from as f32;
        let scales = self.constant(&[4], vec![1.0, 1.0, ratio, ratio]);
        let attrs = vec![
            string("mode", "cubic"),
            float("cubic_coeff_a", -0.75),
            string("coordinate_transformation_mode", "half_pixel"),
        ];
        OnnxValue {
            name: self.node("Resize", vec![x.name, String::new(), scales], attrs),
            channels: x.channels,
        }
    }
}

/// `[batch, channels, height, width]` with symbolic batch and spatial axes.
fn image_value(name: &str, channels: usize, spatial: [&str; 2]) -> ValueInfoProto {
    let symbolic = |param: &str| Dimension {
        value: Some(dimension::Value::DimParam(param.into())),
        ..Default::default()
    };
    let fixed = Dimension {
        value: Some(dimension::Value::DimValue(channels as i64)),
        ..Default::default()
    };
    let shape = TensorShapeProto {
        dim: vec![
            symbolic("batch"),
            fixed,
            symbolic(spatial[0]),
            symbolic(spatial[1]),
        ],
        ..Default::default()
    };
    ValueInfoProto {
        name: name.into(),
        type_: Some(TypeProto {
            value: Some(TypeValue::TensorType(type_proto::Tensor {
                elem_type: DataType::FLOAT as i32,
                shape: Some(shape).into(),
                ..Default::default()
            })),
            ..Default::default()
        })
        .into(),
        ..Default::default()
    }
}

/// The ONNX model of `model`: input `input`, output `output`, both NCHW in [0, 1] (luma
/// models take and return the Y channel), metadata as in a `.upres` file.
pub fn onnx_model(model: &SrModel) -> Result<ModelProto, ExportError> {
    let channels = model.color().channels();
    let ops = OnnxOps::default();
    // Traced once on a nominal size: the graph itself has no fixed spatial size.
    let side = model.input_multiple();
    let input = OnnxValue {
        name: "input".into(),
        channels,
    };
    let out = model.run(&ops, [1, channels, side, side], input)?;
    let mut graph = ops.graph.into_inner();
    // The last node writes the graph's output.
    let last = graph
        .node
        .last_mut()
        .expect("a network has at least one operation");
    debug_assert_eq!(last.output[0], out.name);
    last.output[0] = "output".into();
    graph.name = model.spec().name.into();
    graph.input = vec![image_value("input", channels, ["height", "width"])];
    graph.output = vec![image_value(
        "output",
        out.channels,
        ["out_height", "out_width"],
    )];
    let metadata = [
        ("upres.model", model.spec().name.to_string()),
        ("upres.scale", model.scale().to_string()),
        ("upres.color", model.color().name().to_string()),
    ];
    Ok(ModelProto {
        ir_version: IR_VERSION,
        opset_import: vec![OperatorSetIdProto {
            domain: String::new(),
            version: OPSET,
            ..Default::default()
        }],
        producer_name: "upres".into(),
        producer_version: env!("CARGO_PKG_VERSION").into(),
        graph: Some(graph).into(),
        metadata_props: metadata
            .into_iter()
            .map(|(key, value)| onnx_protobuf::StringStringEntryProto {
                key: key.into(),
                value,
                ..Default::default()
            })
            .collect(),
        ..Default::default()
    })
}

/// Writes [`onnx_model`] to `path` (through a temporary file, renamed when complete).
pub fn export_onnx(model: &SrModel, path: &Path) -> Result<(), ExportError> {
    let bytes = onnx_model(model)?.write_to_bytes()?;
    let io = |source| ExportError::Io {
        path: path.display().to_string(),
        source,
    };
    let tmp = path.with_extension("onnx.tmp");
    std::fs::write(&tmp, bytes).map_err(io)?;
    std::fs::rename(&tmp, path).map_err(io)
}
