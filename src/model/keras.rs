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

use super::TimNet;
use super::tab::param;

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
