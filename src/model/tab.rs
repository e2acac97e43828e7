use burn::module::Param;
use burn::nn::conv::{Conv1d, Conv1dConfig};
use burn::nn::{BatchNorm, BatchNormConfig, Initializer, PaddingConfig1d};
use burn::prelude::*;
use burn::tensor::activation::{relu, sigmoid};

use super::spatial_dropout::spatial_dropout;

/// Keras's BatchNormalization defaults: ε = 1e-3, momentum 0.99 (burn counts the complement).
pub(crate) fn keras_batch_norm(channels: usize, device: &Device) -> BatchNorm {
    BatchNormConfig::new(channels).with_epsilon(1e-3).with_momentum(0.01).init(device)
}

/// A causal Conv1D as Keras builds it: glorot-uniform kernel, zero bias, `dilation·(k-1)` zeros
/// padded on the left only, so frame t sees frames t, t-d, t-2d, ...
pub(crate) fn keras_causal_conv(c_in: usize, c_out: usize, kernel: usize, dilation: usize, device: &Device) -> Conv1d {
    let mut conv = Conv1dConfig::new(c_in, c_out, kernel)
        .with_dilation(dilation)
        .with_padding(PaddingConfig1d::Explicit(dilation * (kernel - 1), 0))
        .with_initializer(Initializer::Zeros)
        .init(device);
    conv.weight = Initializer::XavierUniform { gain: 1.0 }.init_with(
        [c_out, c_in, kernel],
        Some(c_in * kernel),
        Some(c_out * kernel),
        device,
    );
    conv
}

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
    pub fn new(filters: usize, kernel: usize, dilation: usize, dropout: f64, residual: bool, device: &Device) -> Self {
        Self {
            conv1: keras_causal_conv(filters, filters, kernel, dilation, device),
            norm1: keras_batch_norm(filters, device),
            conv2: keras_causal_conv(filters, filters, kernel, dilation, device),
            norm2: keras_batch_norm(filters, device),
            dropout,
            residual,
        }
    }

    /// x: [batch, filters, time] → (output, the sigmoid gate when the block is gated).
    pub fn forward(&self, x: Tensor<3>) -> (Tensor<3>, Option<Tensor<3>>) {
        let h = spatial_dropout(relu(self.norm1.forward(self.conv1.forward(x.clone()))), self.dropout);
        let h = spatial_dropout(relu(self.norm2.forward(self.conv2.forward(h))), self.dropout);
        if self.residual {
            (x + h, None)
        } else {
            let gate = sigmoid(h);
            (x * gate.clone(), Some(gate))
        }
    }
}

/// A parameter from host data, for weight import.
pub(crate) fn param<const D: usize>(values: Vec<f32>, shape: [usize; D], device: &Device) -> Param<Tensor<D>> {
    Param::from_tensor(Tensor::<1>::from_floats(values.as_slice(), device).reshape(shape))
}
