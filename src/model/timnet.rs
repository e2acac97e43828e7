use burn::module::Param;
use burn::nn::conv::Conv1d;
use burn::nn::{Initializer, Linear, LinearConfig};
use burn::prelude::*;

use super::TimNetConfig;
use super::tab::{Tab, keras_causal_conv};

/// The network. Build it with [`TimNetConfig::init`].
#[derive(Module, Debug)]
pub struct TimNet {
    pub forward_in: Conv1d,
    /// Absent in the single-direction ablations.
    pub backward_in: Option<Conv1d>,
    pub forward_tabs: Vec<Tab>,
    pub backward_tabs: Vec<Tab>,
    /// The dynamic-fusion vector w, one weight per scale.
    pub fusion: Option<Param<Tensor<1>>>,
    pub head: Linear,
    #[module(skip)]
    pub config: TimNetConfig,
}

/// What the network computed on the way to its logits, for the page to draw.
#[derive(Debug, Clone)]
pub struct Inspection {
    /// Per block j: the forward gate and (when bidirectional) the backward gate,
    /// [batch, filters, time]; the backward one is in reversed time, as the network saw it.
    pub gates: Vec<(Tensor<3>, Option<Tensor<3>>)>,
    /// g_j for every block, [batch, tabs, filters].
    pub scales: Tensor<3>,
    /// The weight each scale gets in the fused vector, [tabs] (uniform when not learned,
    /// one-hot on the last block without multiple scales).
    pub fusion: Tensor<1>,
}

impl TimNet {
    pub(crate) fn new(config: &TimNetConfig, device: &Device) -> Self {
        let (f, k) = (config.filters, config.kernel);
        let residual = config.ablations.tcn;
        let blocks = || -> Vec<Tab> {
            (0..config.tabs).map(|j| Tab::new(f, k, 1 << j, config.dropout, residual, device)).collect()
        };
        let bidirectional = config.bidirectional();
        let fusion =
            config.dynamic_fusion().then(|| Initializer::Uniform { min: -0.05, max: 0.05 }.init([config.tabs], device));
        let mut head = LinearConfig::new(f, config.classes).with_initializer(Initializer::Zeros).init(device);
        head.weight = Initializer::XavierUniform { gain: 1.0 }.init_with(
            [f, config.classes],
            Some(f),
            Some(config.classes),
            device,
        );
        Self {
            forward_in: keras_causal_conv(config.features, f, 1, 1, device),
            backward_in: bidirectional.then(|| keras_causal_conv(config.features, f, 1, 1, device)),
            forward_tabs: blocks(),
            backward_tabs: if bidirectional { blocks() } else { Vec::new() },
            fusion,
            head,
            config: config.clone(),
        }
    }

    /// Class logits (before softmax), [batch, classes], from MFCCs [batch, frames, coefficients].
    pub fn forward(&self, mfcc: Tensor<3>) -> Tensor<2> {
        self.run(mfcc, false).0
    }

    /// Logits and the inner workings.
    pub fn inspect(&self, mfcc: Tensor<3>) -> (Tensor<2>, Inspection) {
        let (logits, inspection) = self.run(mfcc, true);
        (logits, inspection.expect("inspection was requested"))
    }

    fn run(&self, mfcc: Tensor<3>, keep_gates: bool) -> (Tensor<2>, Option<Inspection>) {
        let x = mfcc.swap_dims(1, 2); // [batch, coefficients, frames]
        let device = x.device();
        let mut forward = self.forward_in.forward(x.clone());
        let mut backward = self.backward_in.as_ref().map(|conv| conv.forward(x.flip([2])));
        let mut scales = Vec::with_capacity(self.forward_tabs.len());
        let mut gates = Vec::new();
        for (j, block) in self.forward_tabs.iter().enumerate() {
            let (f, f_gate) = block.forward(forward);
            forward = f;
            let (b, b_gate) = match (backward.take(), self.backward_tabs.get(j)) {
                (Some(b), Some(block)) => {
                    let (b, gate) = block.forward(b);
                    (Some(b), gate)
                }
                (b, _) => (b, None),
            };
            // The backward features are added index by index, as the official code does;
            // the time-mean that follows makes the order irrelevant.
            let both = match &b {
                Some(b) => forward.clone() + b.clone(),
                None => forward.clone(),
            };
            let [batch, filters, _] = both.dims();
            scales.push(both.mean_dim(2).reshape([batch, 1, filters]));
            backward = b;
            if keep_gates && let Some(g) = f_gate {
                gates.push((g, b_gate));
            }
        }
        let scales = Tensor::cat(scales, 1); // [batch, tabs, filters]
        let fusion = self.fusion_weights(&device);
        let tabs = fusion.dims()[0];
        let fused = (scales.clone() * fusion.clone().reshape([1, tabs, 1])).sum_dim(1);
        let [batch, _, filters] = fused.dims();
        let logits = self.head.forward(fused.reshape([batch, filters]));
        let inspection = keep_gates.then(|| Inspection { gates, scales, fusion });
        (logits, inspection)
    }

    /// w as the head sees it: learned, a plain average, or all weight on the last block.
    pub fn fusion_weights(&self, device: &Device) -> Tensor<1> {
        match (&self.fusion, self.config.fixed_fusion()) {
            (Some(w), _) => w.val(),
            (None, fixed) => {
                let weights = fixed.unwrap_or_else(|| vec![1.0 / self.config.tabs as f32; self.config.tabs]);
                Tensor::<1>::from_floats(weights.as_slice(), device)
            }
        }
    }

    pub fn config(&self) -> &TimNetConfig {
        &self.config
    }
}
