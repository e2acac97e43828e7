use burn::module::Param;
use burn::nn::conv::Conv1d;
use burn::nn::{Initializer, Linear, LinearConfig};
use burn::prelude::*;

use super::TimNetConfig;
use super::params::{self, ParamTable};
use super::tab::{BlockMasks, Tab, keras_causal_conv};

/// Spatial-dropout masks for a whole network: per direction, per block.
pub type DropoutMasks = Vec<Vec<BlockMasks>>;

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
    /// Empty unless asked for ([`TimNet::inspect`]).
    pub gates: Vec<(Tensor<3>, Option<Tensor<3>>)>,
    /// g_j for every block, [batch, tabs, filters].
    pub scales: Tensor<3>,
    /// The weight each scale gets in the fused vector, [tabs] (uniform when not learned,
    /// one-hot on the last block without multiple scales).
    pub fusion: Tensor<1>,
}

impl TimNet {
    /// The network [`ParamTable`] describes, with Keras's initialisers.
    pub(crate) fn new(config: &TimNetConfig, device: &Device) -> Self {
        let table = ParamTable::new(config);
        let residual = config.ablations.tcn;
        let blocks =
            |d: &params::Direction| d.blocks.iter().map(|b| Tab::new(b, config.dropout, residual, device)).collect();
        let [forward, backward] = [table.directions.first(), table.directions.get(1)];
        let forward = forward.expect("every network has a forward direction");
        let fusion = table.fusion.map(|w| Initializer::Uniform { min: -0.05, max: 0.05 }.init([w.len], device));
        let (inputs, outputs) = (table.head.inputs, table.head.outputs);
        let mut head = LinearConfig::new(inputs, outputs).with_initializer(Initializer::Zeros).init(device);
        head.weight =
            Initializer::XavierUniform { gain: 1.0 }.init_with([inputs, outputs], Some(inputs), Some(outputs), device);
        Self {
            forward_in: keras_causal_conv(&forward.input, device),
            backward_in: backward.map(|d| keras_causal_conv(&d.input, device)),
            forward_tabs: blocks(forward),
            backward_tabs: backward.map(blocks).unwrap_or_default(),
            fusion,
            head,
            config: config.clone(),
        }
    }

    /// Class logits (before softmax), [batch, classes], from MFCCs [batch, frames, coefficients].
    pub fn forward(&self, mfcc: Tensor<3>) -> Tensor<2> {
        self.run(mfcc, false, None).0
    }

    /// Logits with these spatial-dropout masks instead of drawn ones: per direction (forward,
    /// then backward), per block, the two sub-blocks' masks. For checking another
    /// implementation of training against this one with the same masks.
    pub fn forward_masked(&self, mfcc: Tensor<3>, masks: &DropoutMasks) -> Tensor<2> {
        self.run(mfcc, false, Some(masks)).0
    }

    /// Logits and the inner workings.
    pub fn inspect(&self, mfcc: Tensor<3>) -> (Tensor<2>, Inspection) {
        self.run(mfcc, true, None)
    }

    /// The per-scale features g_j, [batch, tabs, filters]: everything the fusion weights and
    /// the head read (personalisation refits those two on them).
    pub fn scales(&self, mfcc: Tensor<3>) -> Tensor<3> {
        self.run(mfcc, false, None).1.scales
    }

    /// Logits and what led to them; the gates are kept only when asked for (they are large).
    fn run(&self, mfcc: Tensor<3>, keep_gates: bool, masks: Option<&DropoutMasks>) -> (Tensor<2>, Inspection) {
        let mask = |direction: usize, j: usize| masks.and_then(|m| m.get(direction)).and_then(|d| d.get(j));
        let x = mfcc.swap_dims(1, 2); // [batch, coefficients, frames]
        let device = x.device();
        let mut forward = self.forward_in.forward(x.clone());
        let mut backward = self.backward_in.as_ref().map(|conv| conv.forward(x.flip([2])));
        let mut scales = Vec::with_capacity(self.forward_tabs.len());
        let mut gates = Vec::new();
        for (j, block) in self.forward_tabs.iter().enumerate() {
            let (f, f_gate) = block.forward(forward, mask(0, j));
            forward = f;
            let (b, b_gate) = match (backward.take(), self.backward_tabs.get(j)) {
                (Some(b), Some(block)) => {
                    let (b, gate) = block.forward(b, mask(1, j));
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
        (logits, Inspection { gates, scales, fusion })
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
