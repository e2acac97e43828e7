//! Weights from the Keras reference graph (../shared/reference/keras_timnet.py), named as
//! tests/fixtures/make_fixtures.py exports them. This is how the fidelity test proves that our
//! network computes what the official one does, weight for weight.

use std::collections::HashMap;

use burn::module::RunningState;
use burn::nn::BatchNorm;
use burn::nn::conv::Conv1d;
use burn::prelude::*;
use serde::Deserialize;
use thiserror::Error;

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
}

#[derive(Deserialize)]
struct Entry {
    name: String,
    shape: Vec<usize>,
    offset: usize,
    len: usize,
}

/// Every weight of a model in the reference graph's names and Keras shapes, in its order:
/// per direction the 1x1 input conv; per block j and direction, two (conv kernel [k, in, out],
/// bias, BatchNorm gamma, beta, moving mean, moving variance); the fusion vector [tabs, 1];
/// the dense kernel [in, out] and bias. The same order as tests/fixtures/keras_weights.json.
pub fn keras_layout(config: &TimNetConfig) -> Vec<(String, Vec<usize>)> {
    let (f, k) = (config.filters, config.kernel);
    let directions: &[&str] = if config.bidirectional() { &["fwd", "bwd"] } else { &["fwd"] };
    let mut layout = Vec::new();
    for d in directions {
        layout.push((format!("{d}.in.kernel"), vec![1, config.features, f]));
        layout.push((format!("{d}.in.bias"), vec![f]));
    }
    for j in 0..config.tabs {
        for d in directions {
            for c in 0..2 {
                layout.push((format!("{d}.tab{j}.conv{c}.kernel"), vec![k, f, f]));
                layout.push((format!("{d}.tab{j}.conv{c}.bias"), vec![f]));
                for part in ["gamma", "beta", "moving_mean", "moving_variance"] {
                    layout.push((format!("{d}.tab{j}.bn{c}.{part}"), vec![f]));
                }
            }
        }
    }
    if config.dynamic_fusion() {
        layout.push(("fusion.w".into(), vec![config.tabs, 1]));
    }
    layout.push(("dense.kernel".into(), vec![f, config.classes]));
    layout.push(("dense.bias".into(), vec![config.classes]));
    layout
}

/// Keras weights by name, each with its Keras shape.
pub struct KerasWeights {
    entries: HashMap<String, (Vec<usize>, Vec<f32>)>,
}

impl KerasWeights {
    /// From the JSON layout (name, shape, offset, len) and the flat vector it describes.
    pub fn from_flat(layout_json: &str, flat: &[f32]) -> Result<Self, KerasImportError> {
        let layout: Vec<Entry> =
            serde_json::from_str(layout_json).map_err(|e| KerasImportError::Layout(e.to_string()))?;
        let mut entries = HashMap::new();
        for e in layout {
            if e.offset + e.len > flat.len() || e.shape.iter().product::<usize>() != e.len {
                return Err(KerasImportError::Length(e.offset + e.len, flat.len()));
            }
            entries.insert(e.name, (e.shape, flat[e.offset..e.offset + e.len].to_vec()));
        }
        Ok(Self { entries })
    }

    /// From a flat vector laid out as `layout` says (names and shapes in order, no gaps).
    pub fn from_layout(layout: &[(String, Vec<usize>)], flat: &[f32]) -> Result<Self, KerasImportError> {
        let total: usize = layout.iter().map(|(_, shape)| shape.iter().product::<usize>()).sum();
        if total != flat.len() {
            return Err(KerasImportError::Length(total, flat.len()));
        }
        let mut entries = HashMap::new();
        let mut offset = 0;
        for (name, shape) in layout {
            let len = shape.iter().product::<usize>();
            entries.insert(name.clone(), (shape.clone(), flat[offset..offset + len].to_vec()));
            offset += len;
        }
        Ok(Self { entries })
    }

    /// The weights of `model` (parameters and running statistics), in Keras's names and shapes.
    pub fn from_model(model: &TimNet) -> Self {
        let host = |t: Tensor<1>| t.into_data().try_to_vec::<f32>().unwrap_or_default();
        let mut entries = HashMap::new();
        let mut put = |name: String, shape: Vec<usize>, values: Vec<f32>| {
            entries.insert(name, (shape, values));
        };
        let conv = |name: &str, conv: &Conv1d| {
            let [c_out, c_in, k] = conv.weight.val().dims();
            let burn = host(conv.weight.val().reshape([c_out * c_in * k]));
            let mut keras = vec![0.0; burn.len()];
            for t in 0..k {
                for i in 0..c_in {
                    for o in 0..c_out {
                        keras[(t * c_in + i) * c_out + o] = burn[(o * c_in + i) * k + t];
                    }
                }
            }
            let bias = conv.bias.as_ref().map_or_else(|| vec![0.0; c_out], |b| host(b.val()));
            (format!("{name}.kernel"), vec![k, c_in, c_out], keras, format!("{name}.bias"), bias)
        };
        let mut convs = vec![("fwd.in".to_string(), &model.forward_in)];
        if let Some(b) = &model.backward_in {
            convs.push(("bwd.in".to_string(), b));
        }
        let mut norms = Vec::new();
        for (dir, blocks) in [("fwd", &model.forward_tabs), ("bwd", &model.backward_tabs)] {
            for (j, block) in blocks.iter().enumerate() {
                convs.push((format!("{dir}.tab{j}.conv0"), &block.conv1));
                convs.push((format!("{dir}.tab{j}.conv1"), &block.conv2));
                norms.push((format!("{dir}.tab{j}.bn0"), &block.norm1));
                norms.push((format!("{dir}.tab{j}.bn1"), &block.norm2));
            }
        }
        for (name, c) in convs {
            let (kn, ks, kv, bn, bv) = conv(&name, c);
            let len = bv.len();
            put(kn, ks, kv);
            put(bn, vec![len], bv);
        }
        for (name, norm) in norms {
            let parts = [
                ("gamma", host(norm.gamma.val())),
                ("beta", host(norm.beta.val())),
                ("moving_mean", host(norm.running_mean.value())),
                ("moving_variance", host(norm.running_var.value())),
            ];
            for (part, values) in parts {
                put(format!("{name}.{part}"), vec![values.len()], values);
            }
        }
        if let Some(w) = &model.fusion {
            let values = host(w.val());
            put("fusion.w".into(), vec![values.len(), 1], values);
        }
        let [f, classes] = model.head.weight.val().dims();
        put("dense.kernel".into(), vec![f, classes], host(model.head.weight.val().reshape([f * classes])));
        let bias = model.head.bias.as_ref().map_or_else(|| vec![0.0; classes], |b| host(b.val()));
        put("dense.bias".into(), vec![classes], bias);
        Self { entries }
    }

    /// The weights as one flat vector in the order of `layout`.
    pub fn flatten(&self, layout: &[(String, Vec<usize>)]) -> Result<Vec<f32>, KerasImportError> {
        let mut flat = Vec::new();
        for (name, shape) in layout {
            flat.extend(self.take(name, shape)?);
        }
        Ok(flat)
    }

    fn take(&self, name: &str, expected: &[usize]) -> Result<Vec<f32>, KerasImportError> {
        let (shape, values) = self.entries.get(name).ok_or_else(|| KerasImportError::Missing(name.into()))?;
        if shape != expected {
            return Err(KerasImportError::Shape {
                name: name.into(),
                found: shape.clone(),
                expected: expected.to_vec(),
            });
        }
        Ok(values.clone())
    }

    /// Overwrite every parameter and running statistic of `model` with these weights.
    pub fn apply(&self, mut model: TimNet) -> Result<TimNet, KerasImportError> {
        let device = model.head.weight.val().device();
        let c = &model.config;
        let (f, k, classes, tabs) = (c.filters, c.kernel, c.classes, c.tabs);
        let features = c.features;
        model.forward_in = self.conv("fwd.in", model.forward_in, [1, features, f], &device)?;
        if let Some(conv) = model.backward_in.take() {
            model.backward_in = Some(self.conv("bwd.in", conv, [1, features, f], &device)?);
        }
        for (dir, blocks) in [("fwd", &mut model.forward_tabs), ("bwd", &mut model.backward_tabs)] {
            for (j, block) in blocks.iter_mut().enumerate() {
                let at = |part: &str| format!("{dir}.tab{j}.{part}");
                block.conv1 = self.conv(&at("conv0"), block.conv1.clone(), [k, f, f], &device)?;
                block.conv2 = self.conv(&at("conv1"), block.conv2.clone(), [k, f, f], &device)?;
                self.batch_norm(&at("bn0"), &mut block.norm1, f, &device)?;
                self.batch_norm(&at("bn1"), &mut block.norm2, f, &device)?;
            }
        }
        if model.fusion.is_some() {
            model.fusion = Some(param(self.take("fusion.w", &[tabs, 1])?, [tabs], &device));
        }
        model.head.weight = param(self.take("dense.kernel", &[f, classes])?, [f, classes], &device);
        model.head.bias = Some(param(self.take("dense.bias", &[classes])?, [classes], &device));
        Ok(model)
    }

    /// Keras kernels are [k, in, out]; burn's are [out, in, k].
    fn conv(
        &self,
        name: &str,
        mut conv: Conv1d,
        shape: [usize; 3],
        device: &Device,
    ) -> Result<Conv1d, KerasImportError> {
        let [k, c_in, c_out] = shape;
        let keras = self.take(&format!("{name}.kernel"), &shape)?;
        let mut burn = vec![0.0; keras.len()];
        for t in 0..k {
            for i in 0..c_in {
                for o in 0..c_out {
                    burn[(o * c_in + i) * k + t] = keras[(t * c_in + i) * c_out + o];
                }
            }
        }
        conv.weight = param(burn, [c_out, c_in, k], device);
        conv.bias = Some(param(self.take(&format!("{name}.bias"), &[c_out])?, [c_out], device));
        Ok(conv)
    }

    fn batch_norm(&self, name: &str, norm: &mut BatchNorm, f: usize, device: &Device) -> Result<(), KerasImportError> {
        let get = |part: &str| self.take(&format!("{name}.{part}"), &[f]);
        let tensor = |v: Vec<f32>| Tensor::<1>::from_floats(v.as_slice(), device);
        norm.gamma = param(get("gamma")?, [f], device);
        norm.beta = param(get("beta")?, [f], device);
        norm.running_mean = RunningState::new(tensor(get("moving_mean")?));
        norm.running_var = RunningState::new(tensor(get("moving_variance")?));
        Ok(())
    }
}
