//! Two runs on the same folds, compared fold by fold. Folds differ far more from one another
//! (an EmoDB fold tests 53 or 54 utterances) than the variants of a model do, so the
//! mean ± std of each run hides gaps that the per-fold differences show: the fold-to-fold
//! spread cancels out of them.

use std::path::{Path, PathBuf};

use crate::report::{read_config, read_folds, table_header};
use crate::run::{FoldScores, RunConfig};
use crate::{Result, TrainError};

/// The folds that ran all of the run's epochs, by name, with their scores.
fn finished_folds(dir: &Path) -> Result<(RunConfig, Vec<(String, FoldScores)>)> {
    let config = read_config(dir)?;
    let folds = read_folds(&dir.join("metrics.jsonl"))
        .into_iter()
        .filter(|(_, logs)| logs.len() == config.fit.epochs)
        .map(|(name, logs)| (name, FoldScores::of(&logs, config.select_by)))
        .collect();
    Ok((config, folds))
}

/// The same corpus, classes and protocol: the same test folds, item for item (a validation
/// hold-out changes what a fold trains on, which is what such a comparison is about).
fn same_folds(a: &RunConfig, b: &RunConfig) -> bool {
    (&a.corpora, &a.classes, &a.protocol) == (&b.corpora, &b.classes, &b.protocol)
}

/// UAR and WAR at the official epoch, then at the last one.
fn compared(fold: &FoldScores) -> Option<[f64; 4]> {
    let (_, best) = fold.best_on_test.as_ref()?;
    let last = fold.last_epoch.as_ref()?;
    Some([best.uar, best.war, last.uar, last.war])
}

/// Mean, sample standard deviation and paired t statistic of `differences`.
fn paired(differences: &[f64]) -> (f64, f64, f64) {
    let n = differences.len() as f64;
    let mean = differences.iter().sum::<f64>() / n;
    let sd = (differences.iter().map(|d| (d - mean).powi(2)).sum::<f64>() / (n - 1.0)).sqrt();
    (mean, sd, mean / (sd / n.sqrt()))
}

/// Each of `others` against `base`, over the folds both finished: the per-fold difference in
/// UAR and WAR (other − base, in points) at the official epoch and at the last one, as mean ±
/// sample std over folds, with the paired t statistic. In markdown.
pub fn paired_table(base: &Path, others: &[PathBuf]) -> Result<String> {
    let (base_config, base_folds) = finished_folds(base)?;
    let mut md = format!(
        "Differences from `{}`, fold by fold (points, other − base; t: paired t statistic)\n\n",
        base.display()
    );
    let columns = ["run", "folds", "official UAR", "t", "official WAR", "t", "last UAR", "t", "last WAR", "t"];
    md.push_str(&table_header(&columns));
    for other in others {
        let (config, folds) = finished_folds(other)?;
        if !same_folds(&base_config, &config) {
            return Err(TrainError::Setup(format!(
                "{} and {} do not test on the same folds",
                base.display(),
                other.display()
            )));
        }
        // Per fold, the four compared figures of (base, other).
        let pairs: Vec<([f64; 4], [f64; 4])> = folds
            .iter()
            .filter_map(|(name, b)| {
                let (_, a) = base_folds.iter().find(|(n, _)| n == name)?;
                Some((compared(a)?, compared(b)?))
            })
            .collect();
        if pairs.len() < 2 {
            return Err(TrainError::Setup(format!(
                "{} and {} have {} finished folds in common; 2 are needed",
                base.display(),
                other.display(),
                pairs.len()
            )));
        }
        // Runs of different lengths compare, but their last epochs are different epochs.
        let epochs = match config.fit.epochs {
            e if e == base_config.fit.epochs => String::new(),
            e => format!(" ({e} epochs against {})", base_config.fit.epochs),
        };
        md.push_str(&format!("| {}{epochs} | {} |", other.display(), pairs.len()));
        for k in 0..4 {
            let differences: Vec<f64> = pairs.iter().map(|(a, b)| 100.0 * (b[k] - a[k])).collect();
            let (mean, sd, t) = paired(&differences);
            md.push_str(&format!(" {mean:+.2} ± {sd:.2} | {t:+.2} |"));
        }
        md.push('\n');
    }
    md.push_str("\nt has folds − 1 degrees of freedom: over 10 folds, |t| above 2.26 is p < 0.05, two-sided.\n");
    Ok(md)
}

#[cfg(test)]
mod tests {
    use super::paired;

    #[test]
    fn paired_statistics_match_a_worked_example() {
        // Differences 1, 2, 3, 4: mean 2.5, sample std sqrt(5/3), t = 2.5 / (sd / 2).
        let (mean, sd, t) = paired(&[1.0, 2.0, 3.0, 4.0]);
        assert!((mean - 2.5).abs() < 1e-12);
        assert!((sd - (5.0f64 / 3.0).sqrt()).abs() < 1e-12);
        assert!((t - 2.5 / (sd / 2.0)).abs() < 1e-12);
        assert!((t - 3.872_983_346).abs() < 1e-6);
    }
}
