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

    /// The network with every BatchNorm's statistics re-estimated on these inputs (label-free
    /// speaker normalisation: a voice's own statistics in place of the training corpora's),
    /// block by block, each on what the blocks before it give with theirs re-estimated; blended
    /// with the trained statistics by `share` (1: these inputs' alone, 0: unchanged).
    pub fn renormalised(&self, mfcc: Tensor<3>, share: f64) -> TimNet {
        let mut model = self.clone();
        let x = mfcc.swap_dims(1, 2); // [batch, coefficients, frames]
        let mut forward = self.forward_in.forward(x.clone());
        let mut backward = self.backward_in.as_ref().map(|conv| conv.forward(x.flip([2])));
        for (j, block) in self.forward_tabs.iter().enumerate() {
            (model.forward_tabs[j], forward) = block.renormalised(forward, share);
            if let (Some(b), Some(block)) = (backward.take(), self.backward_tabs.get(j)) {
                let (block, b) = block.renormalised(b, share);
                (model.backward_tabs[j], backward) = (block, Some(b));
            }
        }
        model
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

#[cfg(test)]
mod tests {
    use super::*;

    /// Four utterances of 200 frames of 39 coefficients, a different wave in each coefficient,
    /// and the same with every coefficient scaled by 1.5 and shifted by its own offset: one
    /// "voice" seen through another channel.
    fn voices(device: &Device) -> (Tensor<3>, Tensor<3>) {
        let [batch, frames, coeffs] = [4, 200, 39];
        let wave = |b: usize, t: usize, c: usize| (0.05 * (t * (c + 1)) as f32 + b as f32).sin();
        let values: Vec<f32> = (0..batch * frames * coeffs)
            .map(|i| wave(i / (frames * coeffs), i / coeffs % frames, i % coeffs))
            .collect();
        let offsets: Vec<f32> = (0..coeffs).map(|c| 2.0 - 0.1 * c as f32).collect();
        let x = Tensor::<1>::from_floats(values.as_slice(), device).reshape([batch, frames, coeffs]);
        let shifted = x.clone() * 1.5 + Tensor::<1>::from_floats(offsets.as_slice(), device).reshape([1, 1, coeffs]);
        (x, shifted)
    }

    fn logits(model: &TimNet, x: &Tensor<3>) -> Vec<f32> {
        model.forward(x.clone()).into_data().try_to_vec::<f32>().expect("f32 logits")
    }

    /// The first block's forward gate, [batch, filters, time], past the frames that see the
    /// causal padding.
    fn first_gate(model: &TimNet, x: &Tensor<3>) -> Vec<f32> {
        let (_, inspection) = model.inspect(x.clone());
        let gate = inspection.gates[0].0.clone();
        let [batch, filters, time] = gate.dims();
        gate.slice([0..batch, 0..filters, 2..time]).into_data().try_to_vec::<f32>().expect("f32 gates")
    }

    fn largest_gap(a: &[f32], b: &[f32]) -> f32 {
        a.iter().zip(b).map(|(a, b)| (a - b).abs()).fold(0.0, f32::max)
    }

    #[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
    #[cfg_attr(not(target_arch = "wasm32"), test)]
    fn batch_norm_statistics_of_a_voice_undo_its_channel_in_the_gates() {
        let device = Device::flex();
        let model = TimNetConfig::default().with_classes(5).init(&device);
        let (x, shifted) = voices(&device);
        // A model whose statistics are those of the first voice, as training leaves them. The
        // blocks gate their input, which passes the channel on, so it is undone where the
        // gates are made: in the first block all but exactly (its input is a pointwise convolution;
        // the statistics take in the frames that see the causal padding).
        let trained = model.renormalised(x.clone(), 1.0);
        let heard = first_gate(&trained, &x);
        let unadapted = largest_gap(&first_gate(&trained, &shifted), &heard);
        let adapted = largest_gap(&first_gate(&trained.renormalised(shifted.clone(), 1.0), &shifted), &heard);
        assert!(adapted < 0.05 * unadapted, "the channel moves the gates by {unadapted}, and by {adapted} adapted");
        // Share 0 keeps the trained statistics; a half share lands between.
        assert_eq!(logits(&trained.renormalised(shifted.clone(), 0.0), &shifted), logits(&trained, &shifted));
        let half = largest_gap(&first_gate(&trained.renormalised(shifted.clone(), 0.5), &shifted), &heard);
        assert!(adapted < half && half < unadapted, "{adapted} < {half} < {unadapted}");
    }
}
