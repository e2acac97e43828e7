//! Train/test splits: scikit-learn's shuffled KFold (bit for bit), leave one speaker out, and a
//! stratified validation hold-out.

use rand_mt::Mt;

/// One split: indices into the corpus's items.
#[derive(Debug, Clone, PartialEq)]
pub struct Fold {
    pub name: String,
    pub train: Vec<usize>,
    pub test: Vec<usize>,
}

/// `KFold(n_splits=k, shuffle=True, random_state=seed).split(range(n))` exactly: numpy's legacy
/// `RandomState(seed).shuffle` (MT19937, Fisher-Yates from the end, masked rejection sampling),
/// then the first `n % k` folds one item larger.
pub fn kfold(n: usize, k: usize, seed: u32) -> Vec<Fold> {
    let mut order: Vec<usize> = (0..n).collect();
    let mut mt = Mt::new(seed);
    for i in (1..n).rev() {
        let j = legacy_interval(&mut mt, i as u32) as usize;
        order.swap(i, j);
    }
    let mut folds = Vec::with_capacity(k);
    let mut start = 0;
    for f in 0..k {
        let size = n / k + usize::from(f < n % k);
        // scikit-learn yields each fold's indices in ascending order.
        let mut test: Vec<usize> = order[start..start + size].to_vec();
        test.sort_unstable();
        let mut train: Vec<usize> = order[..start].iter().chain(&order[start + size..]).copied().collect();
        train.sort_unstable();
        folds.push(Fold { name: format!("fold {}", f + 1), train, test });
        start += size;
    }
    folds
}

/// numpy's legacy `random_interval(max)`: draw 32-bit words masked to the next power of two
/// minus one until one is at most `max`.
fn legacy_interval(mt: &mut Mt, max: u32) -> u32 {
    if max == 0 {
        return 0;
    }
    let mut mask = max;
    for shift in [1, 2, 4, 8, 16] {
        mask |= mask >> shift;
    }
    loop {
        let value = mt.next_u32() & mask;
        if value <= max {
            return value;
        }
    }
}

/// One fold per speaker, in the order speakers first appear.
pub fn leave_one_speaker_out(speakers: &[Option<String>]) -> Result<Vec<Fold>, String> {
    if speakers.iter().any(Option::is_none) {
        return Err("this corpus does not name its speakers, so leave-one-speaker-out is not possible".into());
    }
    let mut names: Vec<&str> = Vec::new();
    for s in speakers.iter().flatten() {
        if !names.contains(&s.as_str()) {
            names.push(s);
        }
    }
    if names.len() < 2 {
        return Err("leave-one-speaker-out needs at least two speakers".into());
    }
    Ok(names.iter().map(|name| holdout_fold(speakers, &[name.to_string()], format!("speaker {name}"))).collect())
}

/// Train on everyone but the named speakers, test on them.
pub fn holdout(speakers: &[Option<String>], test: &[String]) -> Result<Fold, String> {
    for name in test {
        if !speakers.iter().flatten().any(|s| s == name) {
            return Err(format!("no speaker {name:?} in this corpus"));
        }
    }
    Ok(holdout_fold(speakers, test, format!("speakers {}", test.join(","))))
}

fn holdout_fold(speakers: &[Option<String>], test: &[String], name: String) -> Fold {
    let (test_idx, train): (Vec<usize>, Vec<usize>) =
        (0..speakers.len()).partition(|&i| speakers[i].as_ref().is_some_and(|s| test.contains(s)));
    Fold { name, train, test: test_idx }
}

/// Split `train` into (fit, validation) with `fraction` of each class held out, deterministically
/// from `seed`: the every-k-th item of each class after a seeded shuffle.
pub fn stratified_holdout(train: &[usize], labels: &[usize], fraction: f64, seed: u64) -> (Vec<usize>, Vec<usize>) {
    let classes = labels.iter().copied().max().map_or(0, |m| m + 1);
    let mut fit = Vec::new();
    let mut validation = Vec::new();
    for class in 0..classes {
        let mut members: Vec<usize> = train.iter().copied().filter(|&i| labels[i] == class).collect();
        crate::train::shuffle(&mut members, seed ^ class as u64);
        let held = ((members.len() as f64 * fraction).round() as usize).min(members.len().saturating_sub(1));
        validation.extend_from_slice(&members[..held]);
        fit.extend_from_slice(&members[held..]);
    }
    fit.sort_unstable();
    validation.sort_unstable();
    (fit, validation)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn folds_partition_the_items() {
        let folds = kfold(23, 10, 46);
        let mut all: Vec<usize> = folds.iter().flat_map(|f| f.test.clone()).collect();
        all.sort_unstable();
        assert_eq!(all, (0..23).collect::<Vec<_>>());
        assert_eq!(folds.iter().map(|f| f.test.len()).collect::<Vec<_>>(), [3, 3, 3, 2, 2, 2, 2, 2, 2, 2]);
        assert!(
            folds.iter().all(|f| f.train.len() + f.test.len() == 23 && f.train.iter().all(|i| !f.test.contains(i)))
        );
    }

    #[test]
    fn speakers_make_folds() {
        let s: Vec<Option<String>> = ["a", "b", "a", "c"].iter().map(|x| Some(x.to_string())).collect();
        let folds = leave_one_speaker_out(&s).unwrap();
        assert_eq!(folds.len(), 3);
        assert_eq!((folds[0].test.clone(), folds[0].train.clone()), (vec![0, 2], vec![1, 3]));
        assert!(leave_one_speaker_out(&[None, None]).is_err());
        assert!(holdout(&s, &["z".into()]).is_err());
    }

    #[test]
    fn validation_takes_a_tenth_of_each_class() {
        let labels: Vec<usize> = (0..100).map(|i| i % 2).collect();
        let train: Vec<usize> = (0..100).collect();
        let (fit, val) = stratified_holdout(&train, &labels, 0.1, 7);
        assert_eq!(val.len(), 10);
        assert_eq!(val.iter().filter(|&&i| labels[i] == 0).count(), 5);
        assert_eq!(fit.len() + val.len(), 100);
    }
}
