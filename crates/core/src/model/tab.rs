use burn::module::{Param, RunningState};
use burn::nn::conv::{Conv1d, Conv1dConfig};
use burn::nn::{BatchNorm, BatchNormConfig, Initializer, PaddingConfig1d};
use burn::prelude::*;
use burn::tensor::activation::{relu, sigmoid};

use super::params;
use super::spatial_dropout::spatial_dropout;

/// Keras's BatchNormalization defaults, stated once for every path (burn's model, the fused
/// step): ε, and the momentum in Keras's convention, moving ← momentum·moving + (1 -
/// momentum)·batch. burn counts the complement.
pub mod batch_norm {
    pub const EPSILON: f64 = 1e-3;
    pub const MOMENTUM: f64 = 0.99;
}

pub(crate) fn keras_batch_norm(channels: usize, device: &Device) -> BatchNorm {
    BatchNormConfig::new(channels)
        .with_epsilon(batch_norm::EPSILON)
        .with_momentum(1.0 - batch_norm::MOMENTUM)
        .init(device)
}

/// A causal Conv1D as Keras builds it: glorot-uniform kernel, zero bias, `dilation·(k-1)` zeros
/// padded on the left only, so frame t sees frames t, t-d, t-2d, ...
pub(crate) fn keras_causal_conv(spec: &params::Conv, device: &Device) -> Conv1d {
    let params::Conv { c_in, c_out, taps, dilation, .. } = *spec;
    let mut conv = Conv1dConfig::new(c_in, c_out, taps)
        .with_dilation(dilation)
        .with_padding(PaddingConfig1d::Explicit(dilation * (taps - 1), 0))
        .with_initializer(Initializer::Zeros)
        .init(device);
    conv.weight = Initializer::XavierUniform { gain: 1.0 }.init_with(
        [c_out, c_in, taps],
        Some(c_in * taps),
        Some(c_out * taps),
        device,
    );
    conv
}

/// Spatial-dropout masks for the two sub-blocks of one block, [batch, channels, 1], already
/// scaled by 1 / keep: given from outside so that two implementations can draw the same ones.
pub type BlockMasks = [Tensor<3>; 2];

/// A Temporal-Aware Block: [dilated causal conv → BatchNorm → ReLU → spatial dropout] × 2,
/// then the input gated by the sigmoid of that (or, in the TCN ablation, input + that).
#[derive(Module, Debug)]
pub struct Tab {
    pub conv1: Conv1d,
    pub norm1: BatchNorm,
    pub conv2: Conv1d,
    pub norm2: BatchNorm,
    pub dropout: f64,
    pub residual: bool,
}

impl Tab {
    pub fn new(spec: &params::Block, dropout: f64, residual: bool, device: &Device) -> Self {
        let channels = spec.convs[0].c_out;
        Self {
            conv1: keras_causal_conv(&spec.convs[0], device),
            norm1: keras_batch_norm(channels, device),
            conv2: keras_causal_conv(&spec.convs[1], device),
            norm2: keras_batch_norm(channels, device),
            dropout,
            residual,
        }
    }

    /// x: [batch, filters, time] → (output, the sigmoid gate when the block is gated). Dropout
    /// draws its own masks while training, unless `masks` gives them.
    pub fn forward(&self, x: Tensor<3>, masks: Option<&BlockMasks>) -> (Tensor<3>, Option<Tensor<3>>) {
        let drop = |h: Tensor<3>, which: usize| match masks {
            Some(m) => h * m[which].clone(),
            None => spatial_dropout(h, self.dropout),
        };
        let h = drop(relu(self.norm1.forward(self.conv1.forward(x.clone()))), 0);
        let h = drop(relu(self.norm2.forward(self.conv2.forward(h))), 1);
        if self.residual {
            (x + h, None)
        } else {
            let gate = sigmoid(h);
            (x * gate.clone(), Some(gate))
        }
    }
}

impl Tab {
    /// This block with its BatchNorm statistics re-estimated on `x` ([`renormalised`]), and its
    /// output on `x` with them.
    pub fn renormalised(&self, x: Tensor<3>, share: f64) -> (Self, Tensor<3>) {
        let mut block = self.clone();
        let h = block.conv1.forward(x.clone());
        block.norm1 = renormalised(&block.norm1, &h, share);
        let h = block.conv2.forward(relu(block.norm1.forward(h)));
        block.norm2 = renormalised(&block.norm2, &h, share);
        let (out, _) = block.forward(x, None);
        (block, out)
    }
}

/// `norm` with running statistics blended with those of `h`, [batch, channels, time], over
/// every frame: `share` 1 takes `h`'s alone (AdaBN), 0 keeps the trained ones.
fn renormalised(norm: &BatchNorm, h: &Tensor<3>, share: f64) -> BatchNorm {
    let [batch, channels, time] = h.dims();
    let (var, mean) = h.clone().swap_dims(0, 1).reshape([channels, batch * time]).var_mean_bias(1);
    let blend = |trained: Tensor<1>, seen: Tensor<2>| trained * (1.0 - share) + seen.reshape([channels]) * share;
    let mut norm = norm.clone();
    norm.running_mean = RunningState::new(blend(norm.running_mean.value(), mean));
    norm.running_var = RunningState::new(blend(norm.running_var.value(), var));
    norm
}

/// A parameter from host data, for weight import.
pub(crate) fn param<const D: usize>(values: &[f32], shape: [usize; D], device: &Device) -> Param<Tensor<D>> {
    Param::from_tensor(Tensor::<1>::from_floats(values, device).reshape(shape))
}
