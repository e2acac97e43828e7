//! Adam as Keras 2.7 applies it (TensorFlow's ApplyAdam): the bias corrections fold into the
//! step size and ε is added to √v unscaled: p -= lr·√(1-β2^t)/(1-β1^t) · m / (√v + ε).
//!
//! burn's Adam (the `--backend flex` path) adds ε·√(1-β2^t) instead, i.e. ε to √v̂: the same
//! step wherever √v̂ is far above ε = 1e-8. Where gradients are tiny it is not, and the weights
//! drift apart measurably (a quarter of what 9 steps moved them, in tests/fused_step.rs), while
//! the networks' probabilities stay within 0.5% of what training changed. A run stays on the
//! backend it started with.

use timnet::model::params::Span;

/// Where ε enters the step.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Epsilon {
    /// Added to √v (Keras, TensorFlow).
    #[default]
    Keras,
    /// Added to √v̂, the bias-corrected √v (burn, the Adam paper).
    Burn,
}

pub struct Adam {
    pub epsilon_at: Epsilon,
    pub learning_rate: f64,
    pub beta_1: f64,
    pub beta_2: f64,
    pub epsilon: f64,
    pub m: Vec<f32>,
    pub v: Vec<f32>,
    /// Steps taken.
    pub t: u64,
}

impl Adam {
    /// The official code's optimiser: Adam(1e-3, 0.93, 0.98, 1e-8).
    pub fn new(parameters: usize, learning_rate: f64) -> Self {
        Self {
            epsilon_at: Epsilon::Keras,
            learning_rate,
            beta_1: 0.93,
            beta_2: 0.98,
            epsilon: 1e-8,
            m: vec![0.0; parameters],
            v: vec![0.0; parameters],
            t: 0,
        }
    }

    pub fn step(&mut self, params: &mut [f32], grads: &[f32], trainable: &[Span]) {
        self.t += 1;
        let t = self.t as i32;
        let lr = (self.learning_rate * (1.0 - self.beta_2.powi(t)).sqrt() / (1.0 - self.beta_1.powi(t))) as f32;
        let epsilon = match self.epsilon_at {
            Epsilon::Keras => self.epsilon,
            Epsilon::Burn => self.epsilon * (1.0 - self.beta_2.powi(t)).sqrt(),
        };
        let (b1, b2, eps) = (self.beta_1 as f32, self.beta_2 as f32, epsilon as f32);
        for span in trainable {
            let range = span.start..span.end();
            for (((p, &g), m), v) in params[range.clone()]
                .iter_mut()
                .zip(&grads[range.clone()])
                .zip(&mut self.m[range.clone()])
                .zip(&mut self.v[range])
            {
                *m = b1 * *m + (1.0 - b1) * g;
                *v = b2 * *v + (1.0 - b2) * g * g;
                *p -= lr * *m / (v.sqrt() + eps);
            }
        }
    }
}
