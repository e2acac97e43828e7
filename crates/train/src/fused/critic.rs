//! A corpus critic for domain-adversarial training (Ganin et al., JMLR 2016): a small network
//! that learns to tell, from the fused vector the emotion head reads, which corpus an
//! utterance comes from. Its gradient reaches TIM-Net reversed and weighted, so the network is
//! pushed towards features the critic cannot place: what the corpora share rather than the
//! room, microphone, language or acting style each one brings.
//!
//! Only training corpora are ever shown to it (the corpus left out stays unheard), which is
//! the shipped model's situation: generalising to voices nobody has recorded yet, not adapting
//! to one known target.

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use super::adam::Adam;
use timnet::model::params::Span;

/// Units of the critic's hidden layer: a few more than the 39 fused inputs, enough to read
/// corpus from them easily (a weak critic would reverse little).
pub const HIDDEN: usize = 64;

/// Dense(inputs → HIDDEN), ReLU, Dense(HIDDEN → corpora), softmax cross-entropy.
pub struct Critic {
    inputs: usize,
    corpora: usize,
    /// w1 [inputs, HIDDEN], b1 [HIDDEN], w2 [HIDDEN, corpora], b2 [corpora], row-major.
    pub(super) params: Vec<f32>,
    pub(super) adam: Adam,
}

/// The critic's verdict on one batch.
pub struct Judgement {
    /// Mean cross-entropy of the corpus labels.
    pub loss: f32,
    /// dLoss/d(input) [batch, inputs]: what the network receives, reversed and weighted.
    pub d_input: Vec<f32>,
    /// dLoss/d(every critic weight), for its own optimiser.
    pub grads: Vec<f32>,
}

impl Critic {
    /// Glorot-uniform weights drawn from `seed` and zero biases, as Keras's Dense starts.
    pub fn new(inputs: usize, corpora: usize, learning_rate: f64, seed: u64) -> Self {
        let [w1, _, w2, b2] = spans(inputs, corpora);
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let mut params = vec![0.0f32; b2.end()];
        for (span, fan_in, fan_out) in [(w1, inputs, HIDDEN), (w2, HIDDEN, corpora)] {
            let limit = (6.0 / (fan_in + fan_out) as f64).sqrt();
            for p in span.slice_mut(&mut params) {
                *p = rng.random_range(-limit..limit) as f32;
            }
        }
        Self { inputs, corpora, adam: Adam::new(params.len(), learning_rate), params }
    }

    pub fn corpora(&self) -> usize {
        self.corpora
    }

    fn spans(&self) -> [Span; 4] {
        spans(self.inputs, self.corpora)
    }

    /// Forward and backward on `input` [batch, inputs] with each row's corpus.
    pub fn judge(&self, input: &[f32], corpus: &[usize]) -> Judgement {
        let (n, k) = (self.inputs, self.corpora);
        let batch = corpus.len();
        assert_eq!(input.len(), batch * n, "the critic reads [batch, {n}]");
        let [w1, b1, w2, b2] = self.spans().map(|s| s.slice(&self.params));
        let mut grads = vec![0.0f32; self.params.len()];
        let mut d_input = vec![0.0f32; batch * n];
        let mut loss = 0.0f64;
        for (b, (x, &label)) in input.chunks_exact(n).zip(corpus).enumerate() {
            assert!(label < k, "corpus {label} of {k}");
            let mut hidden = b1.to_vec();
            for (i, &v) in x.iter().enumerate() {
                for (h, &w) in hidden.iter_mut().zip(&w1[i * HIDDEN..(i + 1) * HIDDEN]) {
                    *h += v * w;
                }
            }
            hidden.iter_mut().for_each(|h| *h = h.max(0.0));
            let logits: Vec<f32> = (0..k)
                .map(|c| b2[c] + hidden.iter().enumerate().map(|(j, h)| h * w2[j * k + c]).sum::<f32>())
                .collect();
            let max = logits.iter().copied().fold(f32::NEG_INFINITY, f32::max);
            let log_sum = logits.iter().map(|&l| ((l - max) as f64).exp()).sum::<f64>().ln() + max as f64;
            loss -= logits[label] as f64 - log_sum;
            // dL/dlogits = (p - onehot) / batch.
            let d_logits: Vec<f32> = (0..k)
                .map(|c| (((logits[c] as f64 - log_sum).exp() - f64::from(u8::from(c == label))) / batch as f64) as f32)
                .collect();
            let [gw1, gb1, gw2, gb2] = self.spans();
            let mut d_hidden = vec![0.0f32; HIDDEN];
            for (j, (&h, dh)) in hidden.iter().zip(&mut d_hidden).enumerate() {
                for (c, &d) in d_logits.iter().enumerate() {
                    grads[gw2.start + j * k + c] += h * d;
                    *dh += d * w2[j * k + c];
                }
                // Through the ReLU: nothing where it was off.
                if h <= 0.0 {
                    *dh = 0.0;
                }
            }
            for (c, &d) in d_logits.iter().enumerate() {
                grads[gb2.start + c] += d;
            }
            for (j, &dh) in d_hidden.iter().enumerate() {
                grads[gb1.start + j] += dh;
            }
            for (i, &v) in x.iter().enumerate() {
                let row = &w1[i * HIDDEN..(i + 1) * HIDDEN];
                let mut d = 0.0f32;
                for (j, (&dh, &w)) in d_hidden.iter().zip(row).enumerate() {
                    grads[gw1.start + i * HIDDEN + j] += v * dh;
                    d += dh * w;
                }
                d_input[b * n + i] = d;
            }
        }
        Judgement { loss: (loss / batch.max(1) as f64) as f32, d_input, grads }
    }

    /// One Adam step of the critic on its own gradients: it learns to tell the corpora apart
    /// while the network learns to hide them.
    pub fn learn(&mut self, grads: &[f32]) {
        let all = [Span { start: 0, len: self.params.len() }];
        self.adam.step(&mut self.params, grads, &all);
    }
}

/// Where w1, b1, w2 and b2 lie in the critic's flat weights.
fn spans(inputs: usize, corpora: usize) -> [Span; 4] {
    let w1 = Span { start: 0, len: inputs * HIDDEN };
    let b1 = Span { start: w1.end(), len: HIDDEN };
    let w2 = Span { start: b1.end(), len: HIDDEN * corpora };
    let b2 = Span { start: w2.end(), len: corpora };
    [w1, b1, w2, b2]
}

/// The reversed gradient's weight at `progress` (0 to 1) through training: Ganin et al.'s
/// ramp, `most`·(2/(1 + e^(-10·progress)) - 1), so the critic is ignored while the features
/// it would judge are still noise, and reaches `most` by about half-way.
pub fn ramp(most: f64, progress: f64) -> f32 {
    (most * (2.0 / (1.0 + (-10.0 * progress.clamp(0.0, 1.0)).exp()) - 1.0)) as f32
}

#[cfg(test)]
mod tests {
    use super::*;

    fn batch() -> (Vec<f32>, Vec<usize>) {
        let x: Vec<f32> = (0..4 * 5).map(|i| ((i * 29 % 17) as f32 - 8.0) / 4.0).collect();
        (x, vec![0, 2, 1, 2])
    }

    /// The loss again, in f64 through the same weights, for finite differences.
    fn loss_at(critic: &Critic, x: &[f32], corpus: &[usize]) -> f64 {
        critic.judge(x, corpus).loss as f64
    }

    #[test]
    fn gradients_match_finite_differences() {
        let (x, corpus) = batch();
        let critic = Critic::new(5, 3, 1e-3, 4);
        let judged = critic.judge(&x, &corpus);
        // Small enough that no ReLU turns on or off between the two sides.
        let h = 1e-4f32;
        // Every input, and weights of each of the four tensors.
        for i in 0..x.len() {
            let (mut up, mut down) = (x.clone(), x.clone());
            up[i] += h;
            down[i] -= h;
            let numeric = (loss_at(&critic, &up, &corpus) - loss_at(&critic, &down, &corpus)) / (2.0 * h as f64);
            let d = judged.d_input[i] as f64;
            assert!((numeric - d).abs() <= 2e-3 + 0.02 * d.abs(), "input {i}: {numeric} vs {d}");
        }
        for span in critic.spans() {
            for p in span.range().step_by(7) {
                let mut moved = Critic::new(5, 3, 1e-3, 4);
                moved.params[p] += h;
                let up = loss_at(&moved, &x, &corpus);
                moved.params[p] -= 2.0 * h;
                let down = loss_at(&moved, &x, &corpus);
                let numeric = (up - down) / (2.0 * h as f64);
                let d = judged.grads[p] as f64;
                assert!((numeric - d).abs() <= 2e-3 + 0.02 * d.abs(), "weight {p}: {numeric} vs {d}");
            }
        }
        // Not all zero: a check of zeros against zeros would pass whatever the code did.
        assert!(judged.d_input.iter().any(|d| d.abs() > 1e-3));
        assert!(judged.grads.iter().any(|d| d.abs() > 1e-3));
    }

    #[test]
    fn learning_tells_the_corpora_apart() {
        let (x, corpus) = batch();
        let mut critic = Critic::new(5, 3, 1e-2, 4);
        let first = critic.judge(&x, &corpus).loss;
        for _ in 0..200 {
            let judged = critic.judge(&x, &corpus);
            critic.learn(&judged.grads);
        }
        let last = critic.judge(&x, &corpus).loss;
        assert!(last < 0.1 * first, "loss {first} → {last}");
    }

    #[test]
    fn the_ramp_starts_at_nothing_and_reaches_its_weight() {
        assert_eq!(ramp(1.0, 0.0), 0.0);
        assert!((ramp(0.5, 1.0) - 0.5).abs() < 1e-4);
        assert!(ramp(1.0, 0.1) > 0.4 && ramp(1.0, 0.1) < 0.5, "{}", ramp(1.0, 0.1));
        assert!(ramp(1.0, 0.5) > 0.98);
    }
}
