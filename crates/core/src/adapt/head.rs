//! The part of TIM-Net that personalisation refits: the dynamic-fusion weights w and the dense
//! head (W, b), which read the per-scale features g_j of the frozen Temporal-Aware Blocks:
//! logits = Wᵀ(Σ_j w_j g_j) + b. Plain f32 arithmetic (a few thousand numbers), so that it runs
//! the same natively and in the page, with no GPU and no autodiff.

use serde::{Deserialize, Serialize};

use crate::analysis::softmax;

/// The fusion weights and the dense head, as numbers.
#[derive(Debug, Clone, PartialEq)]
pub struct Head {
    pub tabs: usize,
    pub filters: usize,
    pub classes: usize,
    /// w, one weight per scale.
    pub fusion: Vec<f32>,
    /// Whether w is learned (fixed in the ablations without dynamic fusion).
    pub fusion_learned: bool,
    /// W, [filters, classes] row-major, as burn's `Linear` holds it.
    pub weight: Vec<f32>,
    /// b, [classes].
    pub bias: Vec<f32>,
}

/// How the head is fitted to a person's takes.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct FitSettings {
    /// Full-batch Adam steps (0: no labelled fit).
    pub steps: usize,
    pub learning_rate: f32,
    /// λ in the penalty ½λ‖θ − θ₀‖², which keeps the weights near the ones adapted from.
    pub penalty: f32,
}

/// One labelled take: the index of its emotion and the per-scale features of each of its
/// windows (`tabs * filters` numbers, scale by scale).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Take {
    pub label: usize,
    pub windows: Vec<Vec<f32>>,
}

impl Head {
    /// Logits of one window's per-scale features.
    pub fn logits(&self, scales: &[f32]) -> Vec<f32> {
        let fused = self.fuse(scales);
        let mut z = self.bias.clone();
        for (c, f) in fused.iter().enumerate() {
            let row = &self.weight[c * self.classes..(c + 1) * self.classes];
            z.iter_mut().zip(row).for_each(|(z, w)| *z += f * w);
        }
        z
    }

    /// A take's probabilities: the mean of its windows', as [`crate::analysis::Analyzer`]
    /// gives for a recording.
    pub fn probabilities(&self, take: &Take) -> Vec<f32> {
        let mut mean = vec![0.0; self.classes];
        for window in &take.windows {
            let p = softmax(&self.logits(window));
            mean.iter_mut().zip(p).for_each(|(m, p)| *m += p / take.windows.len() as f32);
        }
        mean
    }

    fn fuse(&self, scales: &[f32]) -> Vec<f32> {
        let mut fused = vec![0.0; self.filters];
        for (w, g) in self.fusion.iter().zip(scales.chunks_exact(self.filters)) {
            fused.iter_mut().zip(g).for_each(|(f, g)| *f += w * g);
        }
        fused
    }

    /// Label-free speaker normalisation: shift b so that over these takes (each counted once,
    /// whatever its length) every emotion has the same mean logit. A voice that the model hears
    /// as "sad" whatever it says is moved back to the middle; it assumes the takes cover the
    /// emotions about evenly, as an enrolment does.
    pub fn centred(&self, takes: &[Take]) -> Head {
        let mut mean = vec![0.0f64; self.classes];
        let counted = takes.iter().filter(|t| !t.windows.is_empty()).count();
        for take in takes.iter().filter(|t| !t.windows.is_empty()) {
            for window in &take.windows {
                let share = 1.0 / (counted * take.windows.len()) as f64;
                mean.iter_mut().zip(self.logits(window)).for_each(|(m, z)| *m += share * z as f64);
            }
        }
        let overall = mean.iter().sum::<f64>() / self.classes as f64;
        let mut head = self.clone();
        if counted > 0 {
            head.bias.iter_mut().zip(&mean).for_each(|(b, m)| *b -= (m - overall) as f32);
        }
        head
    }

    /// Fit w, W and b to the takes by cross-entropy (each take weighing the same), with the
    /// penalty pulling them towards `self`'s values.
    pub fn fitted(&self, takes: &[Take], settings: &FitSettings) -> Head {
        let start = self.flat();
        let mut theta = start.clone();
        let mut adam = Adam::new(theta.len(), settings.learning_rate);
        let takes = self.usable(takes);
        let mut head = self.clone();
        for _ in 0..settings.steps {
            head.set_flat(&theta);
            let mut gradient = head.gradient(&takes);
            for ((g, t), s) in gradient.iter_mut().zip(&theta).zip(&start) {
                *g += settings.penalty * (t - s);
            }
            adam.step(&mut theta, &gradient);
        }
        head.set_flat(&theta);
        head
    }

    /// The loss `fitted` minimises, without the penalty: mean cross-entropy over the takes.
    pub fn loss(&self, takes: &[Take]) -> f32 {
        let takes = self.usable(takes);
        let mut loss = 0.0;
        for take in &takes {
            for window in &take.windows {
                let p = softmax(&self.logits(window));
                loss -= p[take.label].max(1e-30).ln() / (takes.len() * take.windows.len()) as f32;
            }
        }
        loss
    }

    /// The takes a fit can learn from: with at least one window, of an emotion the head has.
    fn usable<'a>(&self, takes: &'a [Take]) -> Vec<&'a Take> {
        takes.iter().filter(|t| !t.windows.is_empty() && t.label < self.classes).collect()
    }

    /// ∂loss/∂θ in `flat` order.
    fn gradient(&self, takes: &[&Take]) -> Vec<f32> {
        let (tabs, filters, classes) = (self.tabs, self.filters, self.classes);
        let mut d_fusion = vec![0.0; tabs];
        let mut d_weight = vec![0.0; filters * classes];
        let mut d_bias = vec![0.0; classes];
        for take in takes {
            let share = 1.0 / (takes.len() * take.windows.len()) as f32;
            for scales in &take.windows {
                let fused = self.fuse(scales);
                let mut dz = softmax(&self.logits(scales));
                dz[take.label] -= 1.0;
                dz.iter_mut().for_each(|d| *d *= share);
                let mut d_fused = vec![0.0; filters];
                for c in 0..filters {
                    let row = c * classes..(c + 1) * classes;
                    for ((dw, w), d) in d_weight[row.clone()].iter_mut().zip(&self.weight[row]).zip(&dz) {
                        *dw += fused[c] * d;
                        d_fused[c] += w * d;
                    }
                }
                d_bias.iter_mut().zip(&dz).for_each(|(b, d)| *b += d);
                for (dw, g) in d_fusion.iter_mut().zip(scales.chunks_exact(filters)) {
                    *dw += g.iter().zip(&d_fused).map(|(g, d)| g * d).sum::<f32>();
                }
            }
        }
        if !self.fusion_learned {
            d_fusion.iter_mut().for_each(|d| *d = 0.0);
        }
        [d_fusion, d_weight, d_bias].concat()
    }

    /// θ = (w, W, b) as one vector.
    fn flat(&self) -> Vec<f32> {
        [self.fusion.as_slice(), &self.weight, &self.bias].concat()
    }

    fn set_flat(&mut self, theta: &[f32]) {
        let (w, rest) = theta.split_at(self.tabs);
        let (weight, bias) = rest.split_at(self.filters * self.classes);
        self.fusion.copy_from_slice(w);
        self.weight.copy_from_slice(weight);
        self.bias.copy_from_slice(bias);
    }
}

/// Adam (Kingma & Ba) with Keras's ε placement, as the training step uses.
struct Adam {
    rate: f32,
    m: Vec<f32>,
    v: Vec<f32>,
    t: i32,
}

impl Adam {
    const BETA1: f32 = 0.9;
    const BETA2: f32 = 0.999;
    const EPSILON: f32 = 1e-7;

    fn new(n: usize, rate: f32) -> Self {
        Adam { rate, m: vec![0.0; n], v: vec![0.0; n], t: 0 }
    }

    fn step(&mut self, theta: &mut [f32], gradient: &[f32]) {
        self.t += 1;
        let rate = self.rate * (1.0 - Self::BETA2.powi(self.t)).sqrt() / (1.0 - Self::BETA1.powi(self.t));
        for (((x, g), m), v) in theta.iter_mut().zip(gradient).zip(&mut self.m).zip(&mut self.v) {
            *m = Self::BETA1 * *m + (1.0 - Self::BETA1) * g;
            *v = Self::BETA2 * *v + (1.0 - Self::BETA2) * g * g;
            *x -= rate * *m / (v.sqrt() + Self::EPSILON);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A head of 2 scales x 3 filters x 3 classes with fixed, varied numbers.
    fn head() -> Head {
        let values = |n: usize, seed: f32| (0..n).map(|i| ((i as f32 + 1.0) * seed).sin() * 0.5).collect::<Vec<_>>();
        Head {
            tabs: 2,
            filters: 3,
            classes: 3,
            fusion: vec![0.7, 0.4],
            fusion_learned: true,
            weight: values(9, 1.3),
            bias: values(3, 2.1),
        }
    }

    fn takes() -> Vec<Take> {
        let window = |seed: f32| (0..6).map(|i| ((i as f32 + 2.0) * seed).cos()).collect::<Vec<_>>();
        vec![
            Take { label: 0, windows: vec![window(0.3), window(0.9)] },
            Take { label: 1, windows: vec![window(1.7)] },
            Take { label: 2, windows: vec![window(2.3), window(0.5), window(1.1)] },
        ]
    }

    #[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
    #[cfg_attr(not(target_arch = "wasm32"), test)]
    fn the_gradient_is_the_losss_slope() {
        let (head, takes) = (head(), takes());
        let refs: Vec<&Take> = takes.iter().collect();
        let analytic = head.gradient(&refs);
        let theta = head.flat();
        for i in 0..theta.len() {
            let at = |delta: f32| {
                let mut h = head.clone();
                let mut t = theta.clone();
                t[i] += delta;
                h.set_flat(&t);
                h.loss(&takes) as f64
            };
            let h = 1e-2;
            let numeric = (at(h) - at(-h)) / (2.0 * h as f64);
            assert!((numeric - analytic[i] as f64).abs() < 2e-3, "θ[{i}]: numeric {numeric}, analytic {}", analytic[i]);
        }
    }

    #[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
    #[cfg_attr(not(target_arch = "wasm32"), test)]
    fn fitting_lowers_the_loss_and_the_penalty_holds_the_weights_back() {
        let (head, takes) = (head(), takes());
        let free = head.fitted(&takes, &FitSettings { steps: 200, learning_rate: 0.05, penalty: 0.0 });
        let held = head.fitted(&takes, &FitSettings { steps: 200, learning_rate: 0.05, penalty: 10.0 });
        assert!(free.loss(&takes) < 0.5 * head.loss(&takes), "{} vs {}", free.loss(&takes), head.loss(&takes));
        let distance = |h: &Head| h.flat().iter().zip(head.flat()).map(|(a, b)| (a - b).powi(2)).sum::<f32>();
        assert!(distance(&held) < 0.25 * distance(&free), "{} vs {}", distance(&held), distance(&free));
        assert!(held.loss(&takes) < head.loss(&takes));
        let none = head.fitted(&takes, &FitSettings { steps: 0, learning_rate: 0.05, penalty: 0.0 });
        assert_eq!(none, head);
    }

    #[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
    #[cfg_attr(not(target_arch = "wasm32"), test)]
    fn centring_evens_the_mean_logits_and_keeps_the_rest() {
        let (head, takes) = (head(), takes());
        let centred = head.centred(&takes);
        let mut mean = [0.0f32; 3];
        for take in &takes {
            for window in &take.windows {
                let z = centred.logits(window);
                mean.iter_mut().zip(z).for_each(|(m, z)| *m += z / (3 * take.windows.len()) as f32);
            }
        }
        assert!(mean.iter().all(|m| (m - mean[0]).abs() < 1e-5), "{mean:?}");
        assert_eq!((&centred.weight, &centred.fusion), (&head.weight, &head.fusion));
        assert_eq!(head.centred(&[]), head);
    }

    #[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
    #[cfg_attr(not(target_arch = "wasm32"), test)]
    fn fixed_fusion_weights_stay_fixed() {
        let head = Head { fusion_learned: false, ..head() };
        let fitted = head.fitted(&takes(), &FitSettings { steps: 50, learning_rate: 0.05, penalty: 0.0 });
        assert_eq!(fitted.fusion, head.fusion);
        assert_ne!(fitted.weight, head.weight);
    }
}
