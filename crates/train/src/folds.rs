//! Train/test splits: scikit-learn's shuffled KFold (bit for bit), leave one speaker out, and a
//! stratified validation hold-out.

use rand_mt::Mt;

use crate::{Result, TrainError};

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
pub fn leave_one_speaker_out(speakers: &[Option<String>]) -> Result<Vec<Fold>> {
    if speakers.iter().any(Option::is_none) {
        return Err(TrainError::Setup(
            "this corpus does not name its speakers, so leave-one-speaker-out is not possible".into(),
        ));
    }
    let mut names: Vec<&str> = Vec::new();
    for s in speakers.iter().flatten() {
        if !names.contains(&s.as_str()) {
            names.push(s);
        }
    }
    if names.len() < 2 {
        return Err(TrainError::Setup("leave-one-speaker-out needs at least two speakers".into()));
    }
    Ok(names.iter().map(|name| holdout_fold(speakers, &[name.to_string()], format!("speaker {name}"))).collect())
}

/// Train on everyone but the named speakers, test on them.
pub fn holdout(speakers: &[Option<String>], test: &[String]) -> Result<Fold> {
    for name in test {
        if !speakers.iter().flatten().any(|s| s == name) {
            return Err(TrainError::Setup(format!("no speaker {name:?} in this corpus")));
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
        crate::shuffle(&mut members, seed ^ class as u64);
        // At least one of each class that has two, so that validation sees every class.
        let held = ((members.len() as f64 * fraction).round() as usize).max(1).min(members.len().saturating_sub(1));
        validation.extend_from_slice(&members[..held]);
        fit.extend_from_slice(&members[held..]);
    }
    fit.sort_unstable();
    validation.sort_unstable();
    (fit, validation)
}

/// Leave one corpus out: per corpus, train on the others and test on all of it.
pub fn leave_one_corpus_out(corpus: &[usize], names: &[String]) -> Result<Vec<Fold>> {
    if names.len() < 2 {
        return Err(TrainError::Setup("leaving one corpus out needs at least two corpora".into()));
    }
    Ok(names
        .iter()
        .enumerate()
        .map(|(c, name)| {
            let (test, train) = (0..corpus.len()).partition(|&i| corpus[i] == c);
            Fold { name: format!("unseen {name}"), train, test }
        })
        .collect())
}

/// k folds whose test sets share no speaker (scikit-learn's GroupKFold: the largest speaker
/// first, each to the fold with the fewest items). Items without a speaker are each their own
/// group, so they split by utterance.
pub fn speaker_folds(speakers: &[Option<String>], k: usize) -> Result<Vec<Fold>> {
    let mut groups: Vec<(String, Vec<usize>)> = Vec::new();
    for (i, s) in speakers.iter().enumerate() {
        match s {
            Some(s) => match groups.iter_mut().find(|(g, _)| g == s) {
                Some((_, members)) => members.push(i),
                None => groups.push((s.clone(), vec![i])),
            },
            None => groups.push((format!("#{i}"), vec![i])),
        }
    }
    if groups.len() < k {
        return Err(TrainError::Setup(format!(
            "{k} speaker-disjoint folds need at least {k} speakers; there are {}",
            groups.len()
        )));
    }
    groups.sort_by(|a, b| b.1.len().cmp(&a.1.len()).then_with(|| a.0.cmp(&b.0)));
    let mut tests: Vec<Vec<usize>> = vec![Vec::new(); k];
    for (_, members) in groups {
        let smallest = (0..k).min_by_key(|&f| (tests[f].len(), f)).unwrap_or(0);
        tests[smallest].extend(members);
    }
    Ok(tests
        .into_iter()
        .enumerate()
        .map(|(f, mut test)| {
            test.sort_unstable();
            let train = (0..speakers.len()).filter(|i| test.binary_search(i).is_err()).collect();
            Fold { name: format!("speaker fold {}", f + 1), train, test }
        })
        .collect())
}

/// Split a mix's `train` into (fit, validation) by speaker, corpus by corpus: a `fraction` of
/// the speakers (at least one) of each corpus with at least `MIN_SPEAKERS` of them, and a
/// stratified `fraction` of the utterances of a corpus with fewer (TESS's two) or none named
/// (CASIA's public part). Deterministic from `seed`.
pub fn speaker_validation(
    train: &[usize],
    corpus: &[usize],
    speakers: &[Option<String>],
    labels: &[usize],
    fraction: f64,
    seed: u64,
) -> (Vec<usize>, Vec<usize>) {
    const MIN_SPEAKERS: usize = 5;
    let (mut fit, mut validation) = (Vec::new(), Vec::new());
    let mut corpora: Vec<usize> = train.iter().map(|&i| corpus[i]).collect();
    corpora.sort_unstable();
    corpora.dedup();
    for c in corpora {
        let members: Vec<usize> = train.iter().copied().filter(|&i| corpus[i] == c).collect();
        let mut names: Vec<&String> = members.iter().filter_map(|&i| speakers[i].as_ref()).collect();
        names.sort();
        names.dedup();
        let named = members.iter().all(|&i| speakers[i].is_some());
        if named && names.len() >= MIN_SPEAKERS {
            crate::shuffle(&mut names, seed ^ c as u64);
            let held = ((names.len() as f64 * fraction).round() as usize).max(1);
            let held: Vec<&String> = names[..held].to_vec();
            for i in members {
                let to =
                    if speakers[i].as_ref().is_some_and(|s| held.contains(&s)) { &mut validation } else { &mut fit };
                to.push(i);
            }
        } else {
            let (f, v) = stratified_holdout(&members, labels, fraction, seed ^ c as u64);
            fit.extend(f);
            validation.extend(v);
        }
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
    fn a_corpus_left_out_is_the_whole_test_set() {
        let corpus = [0, 1, 1, 2, 0];
        let names: Vec<String> = ["a", "b", "c"].iter().map(|s| s.to_string()).collect();
        let folds = leave_one_corpus_out(&corpus, &names).unwrap();
        assert_eq!(folds.len(), 3);
        assert_eq!((folds[1].test.clone(), folds[1].train.clone()), (vec![1, 2], vec![0, 3, 4]));
        assert_eq!(folds[0].name, "unseen a");
        assert!(leave_one_corpus_out(&corpus, &names[..1]).is_err());
    }

    #[test]
    fn speaker_folds_never_share_a_speaker() {
        let s: Vec<Option<String>> = (0..40).map(|i| if i < 35 { Some(format!("s{}", i % 7)) } else { None }).collect();
        let folds = speaker_folds(&s, 3).unwrap();
        let mut seen = [0; 40];
        for f in &folds {
            f.test.iter().for_each(|&i| seen[i] += 1);
            for &i in &f.test {
                if let Some(name) = &s[i] {
                    assert!(f.train.iter().all(|&j| s[j].as_ref() != Some(name)), "{name} on both sides");
                }
            }
        }
        assert!(seen.iter().all(|&n| n == 1), "every item tested once");
        assert!(speaker_folds(&s[..3], 4).is_err());
    }

    #[test]
    fn validation_speakers_are_held_out_whole() {
        // Corpus 0: ten speakers of four items; corpus 1: two speakers (by utterance instead).
        let corpus: Vec<usize> = (0..60).map(|i| usize::from(i >= 40)).collect();
        let speakers: Vec<Option<String>> =
            (0..60).map(|i| Some(if i < 40 { format!("a{}", i / 4) } else { format!("b{}", i % 2) })).collect();
        let labels: Vec<usize> = (0..60).map(|i| i % 2).collect();
        let train: Vec<usize> = (0..60).collect();
        let (fit, val) = speaker_validation(&train, &corpus, &speakers, &labels, 0.1, 3);
        let held: Vec<&String> =
            val.iter().filter(|&&i| corpus[i] == 0).filter_map(|&i| speakers[i].as_ref()).collect();
        assert_eq!(held.len(), 4, "one whole speaker of corpus 0");
        assert!(fit.iter().all(|&i| !held.contains(&speakers[i].as_ref().unwrap())));
        assert_eq!(val.iter().filter(|&&i| corpus[i] == 1).count(), 2, "a tenth of corpus 1's utterances");
        assert_eq!(fit.len() + val.len(), 60);
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
