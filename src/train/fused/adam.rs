//! Adam as Keras 2.7 applies it (TensorFlow's ApplyAdam): the bias corrections fold into the
//! step size and ε is added to √v unscaled: p -= lr·√(1-β2^t)/(1-β1^t) · m / (√v + ε).

use super::layout::Span;

pub struct Adam {
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
        let (b1, b2, eps) = (self.beta_1 as f32, self.beta_2 as f32, self.epsilon as f32);
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
