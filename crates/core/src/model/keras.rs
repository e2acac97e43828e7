//! The network's weights as one flat vector in the Keras reference graph's order and shapes
//! ([`ParamTable`]): how the fidelity test loads the official network's weights into ours, and
//! how the fused training step holds its parameters.

use burn::module::RunningState;
use burn::nn::BatchNorm;
use burn::nn::conv::Conv1d;
use burn::prelude::*;
use serde::Deserialize;
use thiserror::Error;

use super::params::{self, ParamTable, Span};
use super::tab::param;
use super::{TimNet, TimNetConfig};

#[derive(Debug, Error)]
pub enum KerasImportError {
    #[error("the weight layout is not valid JSON: {0}")]
    Layout(String),
    #[error("the layout names {0} values but the flat vector holds {1}")]
    Length(usize, usize),
    #[error("no Keras weight named {0}")]
    Missing(String),
    #[error("Keras weight {name} has shape {found:?}, the model needs {expected:?}")]
    Shape { name: String, found: Vec<usize>, expected: Vec<usize> },
    #[error("the model's network has {0} tensors, these weights {1}")]
    Network(usize, usize),
}

/// One entry of an exported layout (tests/fixtures/keras_weights.json).
#[derive(Deserialize)]
struct Entry {
    name: String,
    shape: Vec<usize>,
    offset: usize,
    len: usize,
}

/// A network's weights, trainable and running statistics, in [`ParamTable`] order.
#[derive(Debug, Clone)]
pub struct KerasWeights {
    table: ParamTable,
    flat: Vec<f32>,
}

impl KerasWeights {
    /// From an exported layout (name, shape, offset, len per tensor) and the flat vector it
    /// describes, for the network of `config`.
    pub fn from_flat(config: &TimNetConfig, layout_json: &str, flat: &[f32]) -> Result<Self, KerasImportError> {
        let layout: Vec<Entry> =
            serde_json::from_str(layout_json).map_err(|e| KerasImportError::Layout(e.to_string()))?;
        let table = ParamTable::new(config);
        let mut ours = vec![0.0; table.total];
        for p in &table.params {
            let e =
                layout.iter().find(|e| e.name == p.keras).ok_or_else(|| KerasImportError::Missing(p.keras.clone()))?;
            if e.shape != p.shape || e.len != p.span.len {
                return Err(KerasImportError::Shape {
                    name: p.keras.clone(),
                    found: e.shape.clone(),
                    expected: p.shape.clone(),
                });
            }
            let values =
                flat.get(e.offset..e.offset + e.len).ok_or(KerasImportError::Length(e.offset + e.len, flat.len()))?;
            p.span.slice_mut(&mut ours).copy_from_slice(values);
        }
        Ok(Self { table, flat: ours })
    }

    /// From a flat vector already in the table's order.
    pub fn from_table_order(config: &TimNetConfig, flat: Vec<f32>) -> Result<Self, KerasImportError> {
        let table = ParamTable::new(config);
        if flat.len() != table.total {
            return Err(KerasImportError::Length(table.total, flat.len()));
        }
        Ok(Self { table, flat })
    }

    /// The weights of `model`: parameters and running statistics.
    pub fn from_model(model: &TimNet) -> Self {
        let table = ParamTable::new(model.config());
        let mut flat = vec![0.0; table.total];
        let mut put = |span: Span, values: Vec<f32>| span.slice_mut(&mut flat).copy_from_slice(&values);
        let burn_directions = [(&model.forward_in, &model.forward_tabs)]
            .into_iter()
            .chain(model.backward_in.as_ref().map(|conv| (conv, &model.backward_tabs)));
        for (spec, (input, blocks)) in table.directions.iter().zip(burn_directions) {
            read_conv(&spec.input, input, &mut put);
            for (b, block) in spec.blocks.iter().zip(blocks) {
                read_conv(&b.convs[0], &block.conv1, &mut put);
                read_norm(&b.norms[0], &block.norm1, &mut put);
                read_conv(&b.convs[1], &block.conv2, &mut put);
                read_norm(&b.norms[1], &block.norm2, &mut put);
            }
        }
        if let (Some(span), Some(w)) = (table.fusion, &model.fusion) {
            put(span, host(w.val()));
        }
        let [f, classes] = model.head.weight.val().dims();
        put(table.head.kernel, host(model.head.weight.val().reshape([f * classes])));
        put(table.head.bias, model.head.bias.as_ref().map_or_else(|| vec![0.0; classes], |b| host(b.val())));
        Self { table, flat }
    }

    pub fn table(&self) -> &ParamTable {
        &self.table
    }

    /// Every value, in the table's order.
    pub fn flat(&self) -> &[f32] {
        &self.flat
    }

    pub fn into_flat(self) -> Vec<f32> {
        self.flat
    }

    /// Overwrite every parameter and running statistic of `model` with these weights.
    pub fn apply(&self, mut model: TimNet) -> Result<TimNet, KerasImportError> {
        let wanted = ParamTable::new(model.config());
        if wanted.params.len() != self.table.params.len() {
            return Err(KerasImportError::Network(wanted.params.len(), self.table.params.len()));
        }
        if let Some((ours, theirs)) = wanted.params.iter().zip(&self.table.params).find(|(a, b)| a.shape != b.shape) {
            return Err(KerasImportError::Shape {
                name: theirs.keras.clone(),
                found: theirs.shape.clone(),
                expected: ours.shape.clone(),
            });
        }
        let device = model.head.weight.val().device();
        let values = |span: Span| span.slice(&self.flat);
        let table = &self.table;
        let mut directions = table.directions.iter();
        if let Some(spec) = directions.next() {
            model.forward_in = write_conv(&spec.input, model.forward_in, &self.flat, &device);
            apply_blocks(spec, &mut model.forward_tabs, &self.flat, &device);
        }
        if let (Some(spec), Some(conv)) = (directions.next(), model.backward_in.take()) {
            model.backward_in = Some(write_conv(&spec.input, conv, &self.flat, &device));
            apply_blocks(spec, &mut model.backward_tabs, &self.flat, &device);
        }
        if let (Some(span), Some(_)) = (table.fusion, &model.fusion) {
            model.fusion = Some(param(values(span), [span.len], &device));
        }
        let head = &table.head;
        model.head.weight = param(values(head.kernel), [head.inputs, head.outputs], &device);
        model.head.bias = Some(param(values(head.bias), [head.outputs], &device));
        Ok(model)
    }
}

fn host(t: Tensor<1>) -> Vec<f32> {
    t.into_data().try_to_vec::<f32>().unwrap_or_default()
}

/// Keras kernels are [k, in, out]; burn's are [out, in, k]: each weight's (Keras, burn) index.
fn kernel_indices(spec: &params::Conv) -> impl Iterator<Item = (usize, usize)> {
    let (k, c_in, c_out) = (spec.taps, spec.c_in, spec.c_out);
    (0..k).flat_map(move |t| {
        (0..c_in).flat_map(move |i| (0..c_out).map(move |o| ((t * c_in + i) * c_out + o, (o * c_in + i) * k + t)))
    })
}

fn read_conv(spec: &params::Conv, conv: &Conv1d, put: &mut impl FnMut(Span, Vec<f32>)) {
    let burn = host(conv.weight.val().reshape([spec.kernel.len]));
    let mut keras = vec![0.0; burn.len()];
    for (k, b) in kernel_indices(spec) {
        keras[k] = burn[b];
    }
    put(spec.kernel, keras);
    put(spec.bias, conv.bias.as_ref().map_or_else(|| vec![0.0; spec.c_out], |b| host(b.val())));
}

fn read_norm(spec: &params::Norm, norm: &BatchNorm, put: &mut impl FnMut(Span, Vec<f32>)) {
    put(spec.gamma, host(norm.gamma.val()));
    put(spec.beta, host(norm.beta.val()));
    put(spec.mean, host(norm.running_mean.value()));
    put(spec.var, host(norm.running_var.value()));
}

fn write_conv(spec: &params::Conv, mut conv: Conv1d, flat: &[f32], device: &Device) -> Conv1d {
    let keras = spec.kernel.slice(flat);
    let mut burn = vec![0.0; keras.len()];
    for (k, b) in kernel_indices(spec) {
        burn[b] = keras[k];
    }
    conv.weight = param(&burn, [spec.c_out, spec.c_in, spec.taps], device);
    conv.bias = Some(param(spec.bias.slice(flat), [spec.c_out], device));
    conv
}

fn write_norm(spec: &params::Norm, norm: &mut BatchNorm, flat: &[f32], device: &Device) {
    let channels = spec.gamma.len;
    let state = |span: Span| RunningState::new(Tensor::<1>::from_floats(span.slice(flat), device));
    norm.gamma = param(spec.gamma.slice(flat), [channels], device);
    norm.beta = param(spec.beta.slice(flat), [channels], device);
    norm.running_mean = state(spec.mean);
    norm.running_var = state(spec.var);
}

fn apply_blocks(spec: &params::Direction, blocks: &mut [super::Tab], flat: &[f32], device: &Device) {
    for (b, block) in spec.blocks.iter().zip(blocks) {
        block.conv1 = write_conv(&b.convs[0], block.conv1.clone(), flat, device);
        block.conv2 = write_conv(&b.convs[1], block.conv2.clone(), flat, device);
        write_norm(&b.norms[0], &mut block.norm1, flat, device);
        write_norm(&b.norms[1], &mut block.norm2, flat, device);
    }
}
