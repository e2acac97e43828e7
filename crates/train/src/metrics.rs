//! WAR (accuracy), UAR (mean per-class recall) and the confusion matrix.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Scores {
    /// Weighted average recall: accuracy over all utterances.
    pub war: f64,
    /// Unweighted average recall: mean over classes present in the test set.
    pub uar: f64,
    /// confusion[true][predicted].
    pub confusion: Vec<Vec<usize>>,
}

impl Scores {
    pub fn new(truth: &[usize], predicted: &[usize], classes: usize) -> Self {
        let mut confusion = vec![vec![0; classes]; classes];
        for (&t, &p) in truth.iter().zip(predicted) {
            confusion[t][p] += 1;
        }
        let correct: usize = (0..classes).map(|c| confusion[c][c]).sum();
        let war = if truth.is_empty() { 0.0 } else { correct as f64 / truth.len() as f64 };
        let recalls: Vec<f64> = (0..classes)
            .filter_map(|c| {
                let total: usize = confusion[c].iter().sum();
                (total > 0).then(|| confusion[c][c] as f64 / total as f64)
            })
            .collect();
        let uar = if recalls.is_empty() { 0.0 } else { recalls.iter().sum::<f64>() / recalls.len() as f64 };
        Self { war, uar, confusion }
    }

    /// Recall of each class (NaN for a class absent from the test set).
    pub fn recalls(&self) -> Vec<f64> {
        self.confusion
            .iter()
            .enumerate()
            .map(|(c, row)| {
                let total: usize = row.iter().sum();
                if total == 0 { f64::NAN } else { row[c] as f64 / total as f64 }
            })
            .collect()
    }
}

/// Mean and (population) standard deviation.
pub fn mean_std(values: &[f64]) -> (f64, f64) {
    if values.is_empty() {
        return (f64::NAN, f64::NAN);
    }
    let mean = values.iter().sum::<f64>() / values.len() as f64;
    let var = values.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / values.len() as f64;
    (mean, var.sqrt())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uar_weights_classes_equally() {
        // Class 0: 3 of 4 right; class 1: 1 of 1 right.
        let s = Scores::new(&[0, 0, 0, 0, 1], &[0, 0, 0, 1, 1], 3);
        assert!((s.war - 0.8).abs() < 1e-12);
        assert!((s.uar - 0.875).abs() < 1e-12);
        assert_eq!(s.confusion[0], vec![3, 1, 0]);
        assert!(s.recalls()[2].is_nan());
        assert_eq!(mean_std(&[1.0, 3.0]), (2.0, 1.0));
    }
}
