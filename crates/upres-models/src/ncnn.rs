//! ncnn models (`.param` + `.bin`), the form realesrgan-ncnn-vulkan and Upscayl ship.
//!
//! The `.param` file is a graph: a line per layer, `Type name inputs outputs blobs... k=v...`
//! (<https://github.com/Tencent/ncnn/wiki/param-and-model-file-structure>). The `.bin` file
//! holds the weights of the layers that have any, in layer order: a convolution's kernel
//! behind a four-byte tag (fp16 `0x01306B47`, or fp32 when zero), then its bias and a PReLU's
//! slopes as raw fp32.
//!
//! Weights are mapped by the graph, not by the order of the layers: the graph is normalised
//! (splits removed, activations fused into convolutions and weighted sums taken apart) and
//! compared, node by node from the output back, with the operations an upres architecture
//! performs, as [`GraphOps`] records them. Each matched convolution and PReLU gives its
//! weights to the upres layer it stands for. Architectures tried: SRVGGNetCompact and
//! RRDBNet, with the depth and width read from the graph; a graph that neither reproduces is an
//! error naming the first layer that differs.

use std::cell::RefCell;
use std::collections::HashMap;
use std::path::{Path, PathBuf};

use burn::nn::BatchNorm;
use burn::nn::PaddingConfig2d;
use burn::nn::conv::{Conv2d, ConvTranspose2d};
use burn::store::{ModuleSnapshot, bridge};
use burn::tensor::{Device, TensorData};

use crate::ops::{Activation, SrOps, Upsample};
use crate::registry::{SrModel, build_variant};
use crate::variant::Variant;

/// An ncnn model could not be read or mapped onto an upres architecture.
#[derive(Debug, thiserror::Error)]
pub enum NcnnError {
    #[error("{}: {source}", path.display())]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    /// The file is not what ncnn writes.
    #[error("{}: {message}", path.display())]
    Format { path: PathBuf, message: String },
    /// The graph is not one of upres's architectures.
    #[error("{}: {message}", path.display())]
    Unmapped { path: PathBuf, message: String },
}

/// Tag of fp16 weights in a `.bin` file.
const FP16_TAG: u32 = 0x0130_6B47;
/// Tag of int8 weights (not supported: upres quantizes its own way).
const INT8_TAG: u32 = 0x000D_4B38;
/// The first line of a text `.param` file.
const PARAM_MAGIC: &str = "7767517";

/// A layer parameter's value.
#[derive(Debug, Clone, PartialEq)]
enum Value {
    Int(i64),
    Float(f32),
    Array(Vec<f32>),
}

/// One line of a `.param` file.
#[derive(Debug, Clone)]
struct Layer {
    kind: String,
    name: String,
    bottoms: Vec<String>,
    tops: Vec<String>,
    params: HashMap<i32, Value>,
}

impl Layer {
    fn int(&self, key: i32, default: i64) -> i64 {
        match self.params.get(&key) {
            Some(Value::Int(v)) => *v,
            Some(Value::Float(v)) => *v as i64,
            _ => default,
        }
    }

    fn float(&self, key: i32, default: f32) -> f32 {
        match self.params.get(&key) {
            Some(Value::Int(v)) => *v as f32,
            Some(Value::Float(v)) => *v,
            _ => default,
        }
    }

    fn array(&self, key: i32) -> Vec<f32> {
        match self.params.get(&key) {
            Some(Value::Array(v)) => v.clone(),
            _ => Vec::new(),
        }
    }

    fn count(&self, key: i32, default: i64) -> Result<usize, String> {
        let value = self.int(key, default);
        usize::try_from(value)
            .map_err(|_| format!("layer `{}`: parameter {key} is {value}", self.name))
    }
}

/// Reads the layers of a text `.param` file.
fn parse_param(text: &str) -> Result<Vec<Layer>, String> {
    let mut lines = text.lines().filter(|l| !l.trim().is_empty());
    if lines.next().map(str::trim) != Some(PARAM_MAGIC) {
        return Err(format!(
            "not an ncnn .param file (its first line is not {PARAM_MAGIC})"
        ));
    }
    let counts = lines.next().ok_or("no layer count")?;
    let layer_count: usize = counts
        .split_whitespace()
        .next()
        .and_then(|n| n.parse().ok())
        .ok_or_else(|| format!("`{counts}` is not `layers blobs`"))?;
    let layers: Vec<Layer> = lines.map(parse_layer).collect::<Result<_, _>>()?;
    if layers.len() != layer_count {
        return Err(format!(
            "declares {layer_count} layers but lists {}",
            layers.len()
        ));
    }
    Ok(layers)
}

fn parse_layer(line: &str) -> Result<Layer, String> {
    let fields: Vec<&str> = line.split_whitespace().collect();
    let bad = || format!("malformed layer line `{line}`");
    let [kind, name, n_in, n_out, rest @ ..] = fields.as_slice() else {
        return Err(bad());
    };
    let n_in: usize = n_in.parse().map_err(|_| bad())?;
    let n_out: usize = n_out.parse().map_err(|_| bad())?;
    if rest.len() < n_in + n_out {
        return Err(bad());
    }
    let mut params = HashMap::new();
    for pair in &rest[n_in + n_out..] {
        let (key, value) = pair.split_once('=').ok_or_else(bad)?;
        let key: i32 = key.parse().map_err(|_| bad())?;
        // Keys from -23300 down hold arrays: `-233xx=count,v1,v2...` for key xx.
        let (key, value) = if key <= -23300 {
            let items: Vec<f32> = value
                .split(',')
                .skip(1)
                .map(|v| v.parse::<f32>().map_err(|_| bad()))
                .collect::<Result<_, _>>()?;
            (-(key + 23300), Value::Array(items))
        } else if let Ok(int) = value.parse::<i64>() {
            (key, Value::Int(int))
        } else {
            (key, Value::Float(value.parse().map_err(|_| bad())?))
        };
        params.insert(key, value);
    }
    Ok(Layer {
        kind: kind.to_string(),
        name: name.to_string(),
        bottoms: rest[..n_in].iter().map(|s| s.to_string()).collect(),
        tops: rest[n_in..n_in + n_out]
            .iter()
            .map(|s| s.to_string())
            .collect(),
        params,
    })
}

/// Reads weights from a `.bin` file in layer order.
struct WeightReader<'a> {
    data: &'a [u8],
    pos: usize,
}

impl WeightReader<'_> {
    fn bytes(&mut self, n: usize) -> Result<&[u8], String> {
        let end = self.pos.checked_add(n).filter(|&e| e <= self.data.len());
        let end = end.ok_or_else(|| {
            format!(
                "the weights end at byte {}, {n} more bytes were expected",
                self.data.len()
            )
        })?;
        let bytes = &self.data[self.pos..end];
        self.pos = end;
        Ok(bytes)
    }

    /// `n` little-endian fp32 values.
    fn raw(&mut self, n: usize) -> Result<Vec<f32>, String> {
        Ok(self
            .bytes(n * 4)?
            .chunks_exact(4)
            .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
            .collect())
    }

    /// `n` values behind a storage tag: fp16 (padded to four bytes) or fp32.
    fn tagged(&mut self, n: usize) -> Result<Vec<f32>, String> {
        let tag = self.bytes(4)?;
        match u32::from_le_bytes([tag[0], tag[1], tag[2], tag[3]]) {
            0 => self.raw(n),
            FP16_TAG => {
                let values = self
                    .bytes(n * 2)?
                    .chunks_exact(2)
                    .map(|b| half::f16::from_le_bytes([b[0], b[1]]).to_f32())
                    .collect();
                self.bytes((4 - n * 2 % 4) % 4)?;
                Ok(values)
            }
            INT8_TAG => Err("int8 weights are not supported: use the fp16 or fp32 model".into()),
            other => Err(format!("unknown weight storage tag {other:#010x}")),
        }
    }
}

/// A node of a normalised graph. `weights` index the graph's weight table.
#[derive(Debug, Clone, PartialEq)]
enum Op {
    Input,
    Conv {
        channels: [usize; 2],
        kernel: [usize; 2],
        stride: [usize; 2],
        dilation: [usize; 2],
        /// Top, left, bottom, right.
        padding: [usize; 4],
        bias: bool,
        weights: usize,
    },
    Relu,
    LeakyRelu(f32),
    Tanh,
    Sigmoid,
    PRelu {
        channels: usize,
        weights: usize,
    },
    Add,
    Scale(f32),
    Concat,
    PixelShuffle(usize),
    Upsample(usize, Upsample),
    /// Bicubic resize by this factor.
    RescaleBicubic(f32),
    /// An operation the other side has no counterpart for, in words.
    Other(String),
}

impl Op {
    /// Whether two nodes compute the same thing (their weights aside).
    fn same_as(&self, other: &Op) -> bool {
        let close = |a: f32, b: f32| (a - b).abs() <= 1e-6 * a.abs().max(1.0);
        match (self, other) {
            (Op::LeakyRelu(a), Op::LeakyRelu(b))
            | (Op::Scale(a), Op::Scale(b))
            | (Op::RescaleBicubic(a), Op::RescaleBicubic(b)) => close(*a, *b),
            (Op::Other(_), _) | (_, Op::Other(_)) => false,
            (a, b) => a.without_weights() == b.without_weights(),
        }
    }

    fn without_weights(&self) -> Op {
        let mut op = self.clone();
        if let Op::Conv { weights, .. } | Op::PRelu { weights, .. } = &mut op {
            *weights = 0;
        }
        op
    }

    fn describe(&self) -> String {
        match self {
            Op::Conv {
                channels: [ci, co],
                kernel: [kh, kw],
                stride,
                ..
            } => format!("{kh}x{kw} convolution {ci}->{co} stride {}", stride[0]),
            Op::PRelu { channels, .. } => format!("PReLU over {channels} channels"),
            Op::LeakyRelu(s) => format!("leaky ReLU {s}"),
            Op::Scale(s) => format!("multiplication by {s}"),
            Op::PixelShuffle(f) => format!("pixel shuffle x{f}"),
            Op::Upsample(f, mode) => format!("{mode:?} upsampling x{f}"),
            Op::RescaleBicubic(f) => format!("bicubic resize x{f}"),
            Op::Other(what) => what.clone(),
            op => format!("{op:?}"),
        }
    }
}

#[derive(Debug, Clone)]
struct Node {
    op: Op,
    inputs: Vec<usize>,
    /// The ncnn layer it came from, or empty.
    layer: String,
}

/// A dataflow graph with its weights (`W`: values from a file, or parameter ids).
#[derive(Debug)]
struct Graph<W> {
    nodes: Vec<Node>,
    weights: Vec<W>,
}

impl<W> Graph<W> {
    fn new() -> Self {
        Self {
            nodes: Vec::new(),
            weights: Vec::new(),
        }
    }

    fn push(&mut self, op: Op, inputs: Vec<usize>, layer: &str) -> usize {
        self.nodes.push(Node {
            op,
            inputs,
            layer: layer.to_string(),
        });
        self.nodes.len() - 1
    }
}

/// A convolution's or PReLU's weights as read from the `.bin` file: the tensor and the bias.
type FileWeights = (Vec<f32>, Option<Vec<f32>>);

/// An ncnn model read into a normalised graph.
struct NcnnGraph {
    graph: Graph<FileWeights>,
    output: usize,
}

fn read_graph(param: &str, bin: &[u8]) -> Result<NcnnGraph, String> {
    let layers = parse_param(param)?;
    let mut graph = Graph::new();
    let mut blobs: HashMap<String, usize> = HashMap::new();
    let mut consumed: HashMap<String, usize> = HashMap::new();
    let mut reader = WeightReader { data: bin, pos: 0 };
    for layer in &layers {
        let inputs = layer
            .bottoms
            .iter()
            .map(|b| {
                *consumed.entry(b.clone()).or_default() += 1;
                blobs.get(b).copied().ok_or_else(|| {
                    format!("layer `{}` reads blob `{b}` before it is made", layer.name)
                })
            })
            .collect::<Result<Vec<_>, _>>()?;
        let name = layer.name.as_str();
        let node = match layer.kind.as_str() {
            "Input" => graph.push(Op::Input, vec![], name),
            "Split" | "Noop" | "Dropout" => {
                let source = *inputs
                    .first()
                    .ok_or_else(|| format!("`{name}` has no input"))?;
                for top in &layer.tops {
                    blobs.insert(top.clone(), source);
                }
                continue;
            }
            "Convolution" => push_convolution(&mut graph, layer, inputs, &mut reader)?,
            "PReLU" => {
                let channels = layer.count(0, 0)?;
                let slopes = reader
                    .raw(channels)
                    .map_err(|e| format!("layer `{name}`: {e}"))?;
                graph.weights.push((slopes, None));
                let weights = graph.weights.len() - 1;
                graph.push(Op::PRelu { channels, weights }, inputs, name)
            }
            "ReLU" => match layer.float(0, 0.0) {
                0.0 => graph.push(Op::Relu, inputs, name),
                slope => graph.push(Op::LeakyRelu(slope), inputs, name),
            },
            "TanH" => graph.push(Op::Tanh, inputs, name),
            "Sigmoid" => graph.push(Op::Sigmoid, inputs, name),
            "Eltwise" if layer.int(0, 1) == 1 && inputs.len() == 2 => {
                // coeffs[0] * a + coeffs[1] * b
                let coeffs = layer.array(1);
                let scaled: Vec<usize> = inputs
                    .iter()
                    .enumerate()
                    .map(|(i, &input)| match coeffs.get(i) {
                        Some(&c) if c != 1.0 => graph.push(Op::Scale(c), vec![input], name),
                        _ => input,
                    })
                    .collect();
                graph.push(Op::Add, scaled, name)
            }
            "BinaryOp" => match (layer.int(0, 0), inputs.len(), layer.int(1, 0)) {
                (0, 2, 0) => graph.push(Op::Add, inputs, name),
                (2, 1, 1) => graph.push(Op::Scale(layer.float(2, 0.0)), inputs, name),
                (op, _, _) => graph.push(Op::Other(format!("BinaryOp {op}")), inputs, name),
            },
            "Concat" if layer.int(0, 0) == 0 => graph.push(Op::Concat, inputs, name),
            "PixelShuffle" if layer.int(1, 0) == 0 => {
                graph.push(Op::PixelShuffle(layer.count(0, 1)?), inputs, name)
            }
            "Interp" => {
                let (sh, sw) = (layer.float(1, 1.0), layer.float(2, 1.0));
                let factor = sw.round() as usize;
                let whole = sh == sw && sw >= 1.0 && sw.fract() == 0.0;
                let sized = layer.int(3, 0) != 0 || layer.int(4, 0) != 0;
                let plain = !sized && layer.int(6, 0) == 0 && sh == sw;
                let op = match (layer.int(0, 0), whole && plain) {
                    (1, true) => Op::Upsample(factor, Upsample::Nearest),
                    (2, true) => Op::Upsample(factor, Upsample::Bilinear),
                    (3, _) if plain => Op::RescaleBicubic(sw),
                    (mode, _) => {
                        let mode = ["", "nearest", "bilinear", "bicubic"]
                            .get(mode as usize)
                            .copied()
                            .unwrap_or("unknown");
                        Op::Other(format!("{mode} resize x{sw}"))
                    }
                };
                graph.push(op, inputs, name)
            }
            other => {
                if matches!(
                    other,
                    "ConvolutionDepthWise"
                        | "Deconvolution"
                        | "DeconvolutionDepthWise"
                        | "InnerProduct"
                        | "BatchNorm"
                        | "Scale"
                ) {
                    return Err(format!(
                        "layer `{name}` is a {other}, which upres's ncnn reader does not map"
                    ));
                }
                graph.push(Op::Other(format!("ncnn {other}")), inputs, name)
            }
        };
        for top in &layer.tops {
            blobs.insert(top.clone(), node);
        }
    }
    if reader.pos != bin.len() {
        return Err(format!(
            "the graph's layers use {} bytes of weights, the .bin file has {}",
            reader.pos,
            bin.len()
        ));
    }
    // The output is the one blob no layer reads.
    let outputs: Vec<&String> = layers
        .iter()
        .flat_map(|l| &l.tops)
        .filter(|top| !consumed.contains_key(*top))
        .collect();
    let [output] = outputs.as_slice() else {
        return Err(format!(
            "the graph has {} outputs ({}), expected one",
            outputs.len(),
            outputs
                .iter()
                .map(|s| s.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        ));
    };
    Ok(NcnnGraph {
        output: blobs[*output],
        graph,
    })
}

/// A `Convolution` layer: its weights from `reader`, and its fused activation as a node of
/// its own. Returns the last node.
fn push_convolution(
    graph: &mut Graph<FileWeights>,
    layer: &Layer,
    inputs: Vec<usize>,
    reader: &mut WeightReader,
) -> Result<usize, String> {
    let name = layer.name.as_str();
    let co = layer.count(0, 0)?;
    let kw = layer.count(1, 0)?;
    let kh = layer.count(11, kw as i64)?;
    let size = layer.count(6, 0)?;
    if co == 0 || kw == 0 || size % (co * kh * kw) != 0 {
        return Err(format!(
            "layer `{name}`: weight size {size} does not fit {co} {kh}x{kw} kernels"
        ));
    }
    // -233 asks for "same" padding.
    let padding = match layer.int(4, 0) {
        -233 => [kh / 2, kw / 2, (kh - 1) / 2, (kw - 1) / 2],
        _ => {
            let left = layer.count(4, 0)?;
            let top = layer.count(14, left as i64)?;
            let right = layer.count(15, left as i64)?;
            let bottom = layer.count(16, top as i64)?;
            [top, left, bottom, right]
        }
    };
    let bias = layer.int(5, 0) != 0;
    let in_layer = |e: String| format!("layer `{name}`: {e}");
    let weight = reader.tagged(size).map_err(in_layer)?;
    let bias_values = if bias {
        Some(reader.raw(co).map_err(in_layer)?)
    } else {
        None
    };
    graph.weights.push((weight, bias_values));
    let stride_w = layer.count(3, 1)?;
    let dilation_w = layer.count(2, 1)?;
    let conv = Op::Conv {
        channels: [size / (co * kh * kw), co],
        kernel: [kh, kw],
        stride: [layer.count(13, stride_w as i64)?, stride_w],
        dilation: [layer.count(12, dilation_w as i64)?, dilation_w],
        padding,
        bias,
        weights: graph.weights.len() - 1,
    };
    let conv = graph.push(conv, inputs, name);
    let activation = match layer.int(9, 0) {
        0 => return Ok(conv),
        1 => Op::Relu,
        2 => Op::LeakyRelu(layer.array(10).first().copied().unwrap_or(0.0)),
        4 => Op::Sigmoid,
        other => Op::Other(format!("fused activation {other}")),
    };
    Ok(graph.push(activation, vec![conv], name))
}

/// Parameter ids of a convolution (weight, bias) or a PReLU (slopes).
type ParamWeights = (u64, Option<u64>);

/// [`SrOps`] that records the operations an architecture performs, as a graph.
struct GraphOps {
    graph: RefCell<Graph<ParamWeights>>,
}

impl GraphOps {
    fn push(&self, op: Op, inputs: Vec<usize>) -> usize {
        self.graph.borrow_mut().push(op, inputs, "")
    }

    fn weights(&self, ids: ParamWeights) -> usize {
        let mut graph = self.graph.borrow_mut();
        graph.weights.push(ids);
        graph.weights.len() - 1
    }

    fn other(&self, what: &str, inputs: Vec<usize>) -> usize {
        self.push(Op::Other(what.to_string()), inputs)
    }
}

impl SrOps for GraphOps {
    type Tensor = usize;

    fn conv2d(&self, layer: &Conv2d, x: usize) -> usize {
        let [co, ci, kh, kw] = layer.weight.dims();
        if layer.groups != 1 {
            return self.other("grouped convolution", vec![x]);
        }
        let padding = match layer.padding {
            PaddingConfig2d::Explicit(t, l, b, r) => [t, l, b, r],
            PaddingConfig2d::Valid => [0; 4],
            PaddingConfig2d::Same => [kh / 2, kw / 2, (kh - 1) / 2, (kw - 1) / 2],
        };
        let weights = self.weights((
            layer.weight.id.val(),
            layer.bias.as_ref().map(|b| b.id.val()),
        ));
        let op = Op::Conv {
            channels: [ci, co],
            kernel: [kh, kw],
            stride: layer.stride,
            dilation: layer.dilation,
            padding,
            bias: layer.bias.is_some(),
            weights,
        };
        self.push(op, vec![x])
    }

    fn conv_transpose2d(&self, _: &ConvTranspose2d, x: usize) -> usize {
        self.other("transposed convolution", vec![x])
    }

    fn activation(&self, act: Activation<'_>, x: usize) -> usize {
        let op = match act {
            Activation::Relu => Op::Relu,
            Activation::Tanh => Op::Tanh,
            Activation::Sigmoid => Op::Sigmoid,
            Activation::LeakyRelu(slope) => Op::LeakyRelu(slope as f32),
            Activation::PRelu(layer) => Op::PRelu {
                channels: layer.alpha.dims()[0],
                weights: self.weights((layer.alpha.id.val(), None)),
            },
        };
        self.push(op, vec![x])
    }

    fn batch_norm(&self, _: &BatchNorm, x: usize) -> usize {
        self.other("batch norm", vec![x])
    }

    fn add(&self, a: usize, b: usize) -> usize {
        self.push(Op::Add, vec![a, b])
    }

    fn mul_scalar(&self, x: usize, factor: f64) -> usize {
        self.push(Op::Scale(factor as f32), vec![x])
    }

    fn add_per_channel(&self, x: usize, _: &[f64]) -> usize {
        self.other("per-channel offset", vec![x])
    }

    fn global_mean(&self, x: usize) -> usize {
        self.other("global mean", vec![x])
    }

    fn mul_per_channel(&self, x: usize, gate: usize) -> usize {
        self.other("channel attention", vec![x, gate])
    }

    fn concat_channels(&self, xs: &[usize]) -> usize {
        match xs {
            [one] => *one,
            _ => self.push(Op::Concat, xs.to_vec()),
        }
    }

    fn pixel_shuffle(&self, x: usize, factor: usize) -> usize {
        self.push(Op::PixelShuffle(factor), vec![x])
    }

    fn pixel_unshuffle(&self, x: usize, _: usize) -> usize {
        self.other("pixel unshuffle", vec![x])
    }

    fn upsample(&self, x: usize, factor: usize, mode: Upsample) -> usize {
        self.push(Op::Upsample(factor, mode), vec![x])
    }

    fn rescale_bicubic(&self, x: usize, to: usize, from: usize) -> usize {
        self.push(Op::RescaleBicubic(to as f32 / from as f32), vec![x])
    }
}

/// Pairs the nodes of an architecture's graph with those of an ncnn graph.
struct Matcher<'a> {
    model: &'a Graph<ParamWeights>,
    file: &'a Graph<FileWeights>,
    arch: &'a str,
    pairs: HashMap<usize, usize>,
}

impl Matcher<'_> {
    fn visit(&mut self, a: usize, b: usize) -> Result<(), String> {
        let (node_a, node_b) = (&self.model.nodes[a], &self.file.nodes[b]);
        if let Some(&paired) = self.pairs.get(&a) {
            return if paired == b {
                Ok(())
            } else {
                Err(format!(
                    "layer `{}` reads another blob than {} expects",
                    node_b.layer, self.arch
                ))
            };
        }
        if !node_a.op.same_as(&node_b.op) || node_a.inputs.len() != node_b.inputs.len() {
            return Err(format!(
                "layer `{}` ({}) stands where {} has a {}",
                node_b.layer,
                node_b.op.describe(),
                self.arch,
                node_a.op.describe()
            ));
        }
        self.pairs.insert(a, b);
        let (inputs_a, inputs_b) = (node_a.inputs.clone(), node_b.inputs.clone());
        if node_a.op == Op::Add {
            // Addition commutes: the other order is tried before giving up.
            let before = self.pairs.clone();
            let first = self.visit_all(&inputs_a, &inputs_b);
            if first.is_err() {
                self.pairs = before;
                let swapped: Vec<usize> = inputs_b.iter().rev().copied().collect();
                // The error of the order as written says more.
                return self.visit_all(&inputs_a, &swapped).or(first);
            }
            return first;
        }
        self.visit_all(&inputs_a, &inputs_b)
    }

    fn visit_all(&mut self, a: &[usize], b: &[usize]) -> Result<(), String> {
        a.iter().zip(b).try_for_each(|(&x, &y)| self.visit(x, y))
    }
}

/// An architecture, depth and width an ncnn graph may be.
fn candidates(graph: &Graph<FileWeights>) -> Vec<(&'static str, usize, Variant)> {
    let count = |f: &dyn Fn(&Op) -> bool| graph.nodes.iter().filter(|n| f(&n.op)).count();
    let convs = count(&|op| matches!(op, Op::Conv { .. }));
    let prelus = count(&|op| matches!(op, Op::PRelu { .. }));
    let concats = count(&|op| matches!(op, Op::Concat));
    let first_width = graph.nodes.iter().find_map(|n| match n.op {
        Op::Conv { channels, .. } => Some(channels[1]),
        _ => None,
    });
    let shuffle = graph.nodes.iter().find_map(|n| match n.op {
        Op::PixelShuffle(f) => Some(f),
        _ => None,
    });
    // Only what differs from the registered preset goes into the variant.
    let variant = |blocks: usize, preset_blocks: usize| Variant {
        blocks: (blocks != preset_blocks).then_some(blocks),
        features: first_width.filter(|&f| f != 64),
        ..Variant::default()
    };
    // A bicubic resize after the network changes its scale.
    let resize = graph.nodes.iter().find_map(|n| match n.op {
        Op::RescaleBicubic(f) => Some(f),
        _ => None,
    });
    let mut found = Vec::new();
    if let (Some(network_scale), true) = (shuffle, prelus > 0) {
        let mut srvgg = variant(prelus - 1, 16);
        let mut scale = network_scale;
        if let Some(ratio) = resize {
            scale = (network_scale as f32 * ratio).round() as usize;
            srvgg.network_scale = Some(network_scale);
        }
        found.push(("srvgg-compact", scale, srvgg));
    }
    if concats > 0 && convs >= 5 {
        found.push(("rrdbnet", 4, variant((convs - 5) / 15, 23)));
    }
    found
}

/// Builds the upres model an ncnn graph is and gives it the graph's weights.
fn map_graph(ncnn: &NcnnGraph, device: &Device) -> Result<SrModel, String> {
    let options = candidates(&ncnn.graph);
    if options.is_empty() {
        return Err(
            "the graph is neither SRVGGNetCompact (convolutions with PReLU and a pixel shuffle) \
             nor RRDBNet (dense blocks of concatenations); upres maps only those"
                .into(),
        );
    }
    let mut first_error = None;
    for (name, scale, variant) in options {
        let mut model = match build_variant(name, scale, variant, device) {
            Ok(model) => model,
            Err(e) => {
                first_error.get_or_insert(e.to_string());
                continue;
            }
        };
        let ops = GraphOps {
            graph: RefCell::new(Graph::new()),
        };
        let input = ops.push(Op::Input, vec![]);
        let output = model
            .run(&ops, [1, model.color().channels(), 4, 4], input)
            .map_err(|e| e.to_string())?;
        let traced = ops.graph.into_inner();
        let mut matcher = Matcher {
            model: &traced,
            file: &ncnn.graph,
            arch: name,
            pairs: HashMap::new(),
        };
        match matcher.visit(output, ncnn.output) {
            Ok(()) => {
                let pairs = matcher.pairs;
                apply_weights(&mut model, &traced, &ncnn.graph, &pairs)?;
                return Ok(model);
            }
            Err(e) => {
                first_error.get_or_insert(format!("not {name}: {e}"));
            }
        }
    }
    Err(first_error.unwrap_or_default())
}

/// Copies the weights of each matched convolution and PReLU into `model`.
fn apply_weights(
    model: &mut SrModel,
    traced: &Graph<ParamWeights>,
    file: &Graph<FileWeights>,
    pairs: &HashMap<usize, usize>,
) -> Result<(), String> {
    let mut values: HashMap<u64, Vec<f32>> = HashMap::new();
    for (&a, &b) in pairs {
        let weights = |op: &Op| match op {
            Op::Conv { weights, .. } | Op::PRelu { weights, .. } => Some(*weights),
            _ => None,
        };
        if let (Some(wa), Some(wb)) = (weights(&traced.nodes[a].op), weights(&file.nodes[b].op)) {
            let (weight_id, bias_id) = traced.weights[wa];
            let (weight, bias) = &file.weights[wb];
            values.insert(weight_id, weight.clone());
            if let (Some(id), Some(bias)) = (bias_id, bias) {
                values.insert(id, bias.clone());
            }
        }
    }
    let network = model.network_mut();
    let mut loaded = Vec::new();
    for param in network.collect(None, None, true) {
        let id = param.param_id.unwrap_or(u64::MAX);
        let data = values
            .remove(&id)
            .ok_or_else(|| format!("parameter {} got no weights from the graph", param.name))?;
        let shape = param.shape.to_vec();
        if data.len() != shape.iter().product::<usize>() {
            return Err(format!(
                "parameter {} has {} values in the file, {shape:?} in the model",
                param.name,
                data.len()
            ));
        }
        loaded.push(bridge::from_data(
            TensorData::new(data, shape),
            param.name.clone(),
            param.param_id,
        ));
    }
    let result = network.apply(loaded, None, None, true);
    match result.errors.first() {
        Some(error) => Err(error.to_string()),
        None => Ok(()),
    }
}

/// Reads an ncnn model (`param`, and the `.bin` file beside it with the same stem) into the
/// upres architecture its graph is.
pub fn load_ncnn(param: &Path, device: &Device) -> Result<SrModel, NcnnError> {
    let bin = param.with_extension("bin");
    let read = |path: &Path| {
        std::fs::read(path).map_err(|source| NcnnError::Io {
            path: path.to_path_buf(),
            source,
        })
    };
    let text = String::from_utf8(read(param)?).map_err(|_| NcnnError::Format {
        path: param.to_path_buf(),
        message: "not a text .param file (binary .param.bin files are not supported)".into(),
    })?;
    let weights = read(&bin)?;
    let graph = read_graph(&text, &weights).map_err(|message| NcnnError::Format {
        path: param.to_path_buf(),
        message,
    })?;
    map_graph(&graph, device).map_err(|message| NcnnError::Unmapped {
        path: param.to_path_buf(),
        message,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ops::BurnOps;
    use burn::tensor::Tensor;

    /// A small SRVGGNetCompact x2 (4 features, 1 convolution after the first) as ncnn writes
    /// it, `conv0`'s kernel in fp32 and the others in fp16, and the model it came from.
    fn small_srvgg(add_inputs: &str, skip_mode: u32) -> (String, Vec<u8>, SrModel) {
        let variant = Variant {
            blocks: Some(1),
            features: Some(4),
            ..Variant::default()
        };
        let model = build_variant("srvgg-compact", 2, variant, &Device::flex()).unwrap();
        let mut values: HashMap<String, Vec<f32>> = HashMap::new();
        let mut snapshot = model.clone();
        for param in snapshot.network_mut().collect(None, None, true) {
            let data = bridge::into_data(param.clone()).unwrap();
            values.insert(param.name.clone(), data.try_to_vec::<f32>().unwrap());
        }
        let mut bin = Vec::new();
        let mut put = |name: &str, tag: Option<u32>| {
            let v = &values[name];
            match tag {
                None => v.iter().for_each(|x| bin.extend(x.to_le_bytes())),
                Some(0) => {
                    bin.extend(0u32.to_le_bytes());
                    v.iter().for_each(|x| bin.extend(x.to_le_bytes()));
                }
                Some(_) => {
                    bin.extend(FP16_TAG.to_le_bytes());
                    v.iter()
                        .for_each(|x| bin.extend(half::f16::from_f32(*x).to_le_bytes()));
                    bin.resize(bin.len().next_multiple_of(4), 0);
                }
            }
        };
        put("body.0.conv.weight", Some(0));
        put("body.0.conv.bias", None);
        put("body.0.act.alpha", None);
        put("body.1.conv.weight", Some(1));
        put("body.1.conv.bias", None);
        put("body.1.act.alpha", None);
        put("last.weight", Some(1));
        put("last.bias", None);
        let param = format!(
            "7767517\n10 12\n\
             Input input 0 1 data\n\
             Split split 1 2 data d0 d1\n\
             Convolution conv0 1 1 d0 c0 0=4 1=3 4=1 5=1 6=108\n\
             PReLU prelu0 1 1 c0 p0 0=4\n\
             Convolution conv1 1 1 p0 c1 0=4 1=3 4=1 5=1 6=144\n\
             PReLU prelu1 1 1 c1 p1 0=4\n\
             Convolution conv2 1 1 p1 c2 0=12 1=3 4=1 5=1 6=432\n\
             PixelShuffle shuffle 1 1 c2 s 0=2\n\
             Interp skip 1 1 d1 u 0={skip_mode} 1=2.000000e+00 2=2.000000e+00\n\
             BinaryOp add 2 1 {add_inputs} output 0=0\n"
        );
        (param, bin, model)
    }

    fn output(model: &SrModel) -> Vec<f32> {
        let x = Tensor::<4>::from_data(
            TensorData::new(
                (0..3 * 6 * 5).map(|i| (i % 7) as f32 / 7.0).collect(),
                [1, 3, 6, 5],
            ),
            &Device::flex(),
        );
        model
            .run(&BurnOps, [1, 3, 6, 5], x)
            .unwrap()
            .to_data()
            .try_to_vec()
            .unwrap()
    }

    #[test]
    fn parameters_of_every_kind() {
        let layer =
            parse_layer("Eltwise add 2 1 a b c 0=1 -23301=2,2.000000e-01,1 5=-233").unwrap();
        assert_eq!((layer.bottoms.len(), layer.tops.len()), (2, 1));
        assert_eq!(layer.int(0, 0), 1);
        assert_eq!(layer.array(1), vec![0.2, 1.0]);
        assert_eq!(layer.int(5, 0), -233);
        assert!(parse_layer("Eltwise add 2 1 a").is_err());
        assert!(parse_param("7767518\n0 0\n").is_err());
    }

    #[test]
    fn a_graph_maps_onto_the_architecture_with_its_weights() {
        for add_inputs in ["s u", "u s"] {
            let (param, bin, model) = small_srvgg(add_inputs, 1);
            let loaded = map_graph(&read_graph(&param, &bin).unwrap(), &Device::flex()).unwrap();
            assert_eq!(loaded.label(), "srvgg-compact (blocks=1,features=4)");
            let worst = output(&loaded)
                .iter()
                .zip(output(&model))
                .map(|(a, b)| (a - b).abs())
                .fold(0.0f32, f32::max);
            // fp16 weights: a few thousandths at most.
            assert!(worst < 5e-3, "{add_inputs}: outputs differ by {worst}");
        }
    }

    #[test]
    fn what_does_not_map_is_named() {
        let (param, bin, _) = small_srvgg("s u", 2);
        let err = map_graph(&read_graph(&param, &bin).unwrap(), &Device::flex()).unwrap_err();
        assert!(
            err.contains("layer `skip` (Bilinear upsampling x2)"),
            "{err}"
        );
        let err = read_graph(&param, &bin[..bin.len() - 4]).err().unwrap();
        assert!(err.contains("more bytes were expected"), "{err}");
        let mut longer = bin.clone();
        longer.extend([0; 4]);
        let err = read_graph(&param, &longer).err().unwrap();
        assert!(err.contains("the .bin file has"), "{err}");
    }
}
