//! A model trained with per-speaker normalisation, taught one person's voice: the statistics of
//! their takes go into the sidecar, and every recording is then normalised by them, natively and
//! in the page alike (the front end both run).
#![cfg(not(target_arch = "wasm32"))]

use timnet::adapt::AdaptError;
use timnet::analysis::{Analyzer, ONE_RECORDING_OF_A_SPEAKER, block_on};
use timnet::audio::{Prepared, prepare_samples};
use timnet::burn::prelude::Device;
use timnet::features::{FrontEnd, Normalisation, Standardiser};
use timnet::weights::{Sidecar, Weights};
use timnet_testkit::{column_moments, shipped_weights, syllables};

fn per_speaker() -> Weights {
    let mut weights = shipped_weights(&Device::flex());
    weights.sidecar.normalisation = Normalisation::PerSpeaker;
    weights
}

fn take(f0: f32, amplitude: f32) -> Prepared {
    prepare_samples(&syllables(3.0, 16_000, f0, amplitude), 1, 16_000).unwrap()
}

/// Each window's MFCCs before normalisation, and the frames that hold its own samples.
fn raw_windows(analyzer: &Analyzer, recording: &Prepared) -> Vec<(Vec<f32>, std::ops::Range<usize>)> {
    let s = analyzer.sidecar();
    let raw = FrontEnd::new(s.features.clone(), s.clip_samples, Normalisation::None);
    analyzer
        .windows(&recording.samples)
        .iter()
        .map(|w| {
            let (f, own) = raw.placed_and_own(&w.samples, w.own.clone());
            (f.data, own)
        })
        .collect()
}

/// Per coefficient, the mean and variance of these windows' own frames normalised by `voice`.
fn moments(voice: &Standardiser, windows: &[(Vec<f32>, std::ops::Range<usize>)]) -> Vec<(f64, f64)> {
    let c = voice.coeffs();
    let rows: Vec<Vec<f32>> = windows
        .iter()
        .flat_map(|(data, own)| {
            let mut data = data.clone();
            voice.apply(&mut data, own.clone());
            data.chunks_exact(c).skip(own.start).take(own.len()).map(<[f32]>::to_vec).collect::<Vec<_>>()
        })
        .collect();
    column_moments(&rows.iter().map(Vec::as_slice).collect::<Vec<_>>())
}

#[test]
fn a_per_speaker_model_taught_a_voice_normalises_every_recording_by_it() {
    let takes: Vec<Prepared> = [(120.0, 0.1), (160.0, 0.2), (200.0, 0.4), (140.0, 0.3)].map(|(f, a)| take(f, a)).into();
    let alone = Analyzer::new(per_speaker(), Device::flex());
    let voiced = alone.voiced(&takes).unwrap().expect("a per-speaker model learns the voice");
    let voice = voiced.sidecar.voice.clone().unwrap();
    assert_eq!(voice.coeffs(), 39);

    // Over all the takes' windows the voice's statistics give mean 0 and variance 1; over the
    // loudest take alone they do not: its loudness is kept, not normalised away.
    let windows: Vec<_> = takes.iter().flat_map(|t| raw_windows(&alone, t)).collect();
    for (k, (mean, var)) in moments(&voice, &windows).into_iter().enumerate() {
        assert!(mean.abs() < 1e-4 && (var - 1.0).abs() < 1e-3, "coefficient {k}: mean {mean}, variance {var}");
    }
    let loudest = moments(&voice, &raw_windows(&alone, &takes[2]))[0].0;
    assert!(loudest > 0.3, "the loudest take's energy stays above the voice's mean: {loudest}");

    // The same voice quieter and louder: normalised on its own, a recording's loudness is lost
    // (only the energy coefficient moves, and per-utterance normalisation removes it); by the
    // voice's statistics it is kept.
    let taught = Analyzer::new(voiced.clone(), Device::flex());
    let (quiet, loud) = (take(150.0, 0.05), take(150.0, 0.4));
    let features = |a: &Analyzer, p: &Prepared| {
        let w = a.window(&p.samples, 0).unwrap();
        a.front_end().placed(&w.samples, w.own).data
    };
    let gap = |a: &Analyzer| {
        features(a, &quiet).iter().zip(features(a, &loud)).map(|(x, y)| (x - y).abs()).fold(0.0f32, f32::max)
    };
    assert!(gap(&alone) < 1e-3, "normalised on its own: {}", gap(&alone));
    assert!(gap(&taught) > 0.5, "normalised by the voice: {}", gap(&taught));

    // A taught model's answers carry no note that the recording was normalised on its own.
    let note = |a: &Analyzer| block_on(a.analyse(&loud)).unwrap().notes.iter().any(|n| n == ONE_RECORDING_OF_A_SPEAKER);
    assert!(note(&alone) && !note(&taught));

    // The voice goes through the sidecar's file and back (serde_json reads a decimal back to
    // within an ulp or so of the f64 it wrote, not always to the bit), and normalises alike.
    let mut again = Sidecar::from_json(&voiced.sidecar.to_json()).unwrap();
    let read = again.voice.take().unwrap();
    let mut written = voiced.sidecar.clone();
    written.voice = None;
    assert_eq!(again, written, "the rest of the sidecar is read back as written");
    let (raw, own) = raw_windows(&alone, &loud).swap_remove(0);
    let (mut a, mut b) = (raw.clone(), raw);
    read.apply(&mut a, own.clone());
    voice.apply(&mut b, own);
    let gap = a.iter().zip(&b).map(|(x, y)| (x - y).abs()).fold(0.0f32, f32::max);
    assert!(gap < 1e-5, "the voice read back normalises {gap} away from the one written");
}

#[test]
fn only_an_untaught_per_speaker_model_learns_a_voice() {
    let takes = [take(150.0, 0.2)];
    // The shipped model normalises each recording on its own: there is no voice to learn.
    let shipped = Analyzer::new(shipped_weights(&Device::flex()), Device::flex());
    assert!(shipped.voiced(&takes).unwrap().is_none());
    let alone = Analyzer::new(per_speaker(), Device::flex());
    assert!(matches!(alone.voiced(&[]), Err(AdaptError::NoTakes)));
    let taught = Analyzer::new(alone.voiced(&takes).unwrap().unwrap(), Device::flex());
    assert!(matches!(taught.voiced(&takes), Err(AdaptError::AlreadyPersonal(_))));
}

#[test]
fn a_sidecar_s_voice_must_fit_its_model() {
    let alone = Analyzer::new(per_speaker(), Device::flex());
    let voiced = alone.voiced(&[take(150.0, 0.2)]).unwrap().unwrap();
    let json: serde_json::Value = serde_json::from_str(&voiced.sidecar.to_json()).unwrap();
    let refused = |edit: &dyn Fn(&mut serde_json::Value)| {
        let mut changed = json.clone();
        edit(&mut changed);
        Sidecar::from_json(&changed.to_string()).unwrap_err().to_string()
    };
    let err = refused(&|j| j["normalisation"] = "per-utterance".into());
    assert!(err.contains("not per speaker"), "{err}");
    let err = refused(&|j| {
        j["voice"]["mean"].as_array_mut().unwrap().pop();
    });
    assert!(err.contains("statistics of 38 and 39 coefficients for frames of 39"), "{err}");
    let err = refused(&|j| j["voice"]["scale"][3] = 0.0.into());
    assert!(err.contains("spread out of range"), "{err}");
}
