//! Weight averaging: the running mean of the weights after every optimisation step from some
//! epoch on (stochastic weight averaging, taken densely over steps as SWAD does: Cha et al.,
//! "SWAD: Domain Generalization by Seeking Flat Minima", NeurIPS 2021). An average of nearby
//! solutions lies in a flatter region of the loss than any one of them, which is what carries
//! over to data from another distribution; here, corpora never heard.
//!
//! The BatchNorm moving statistics are averaged with the rest: they move slowly (momentum
//! 0.99) and the averaged weights stay near every one averaged, so their statistics stay near
//! the averaged ones; the validation speakers say whether that holds.

/// The mean of the weight vectors added so far.
#[derive(Debug, Clone, PartialEq)]
pub struct Average {
    pub(crate) params: Vec<f32>,
    pub(crate) steps: u64,
}

impl Average {
    pub fn new(len: usize) -> Self {
        Self { params: vec![0.0; len], steps: 0 }
    }

    /// Fold in one more weight vector: mean ← mean + (w - mean) / n.
    pub fn add(&mut self, weights: &[f32]) {
        assert_eq!(weights.len(), self.params.len(), "another network's weights");
        self.steps += 1;
        let share = 1.0 / self.steps as f32;
        for (mean, &w) in self.params.iter_mut().zip(weights) {
            *mean += (w - *mean) * share;
        }
    }

    /// How many weight vectors the mean is over.
    pub fn steps(&self) -> u64 {
        self.steps
    }

    pub fn params(&self) -> &[f32] {
        &self.params
    }
}

#[cfg(test)]
mod tests {
    use super::Average;

    #[test]
    fn is_the_mean_of_what_was_added() {
        let vectors = [[1.0f32, -2.0, 10.0], [3.0, 0.0, 20.0], [8.0, 5.0, -3.0], [0.0, 1.0, 1.0]];
        let mut average = Average::new(3);
        for v in &vectors {
            average.add(v);
        }
        assert_eq!(average.steps(), 4);
        for (k, &mean) in average.params().iter().enumerate() {
            let expected = vectors.iter().map(|v| v[k]).sum::<f32>() / 4.0;
            assert!((mean - expected).abs() < 1e-6, "{k}: {mean} against {expected}");
        }
    }
}
