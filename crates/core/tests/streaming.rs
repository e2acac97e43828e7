//! A file analysed as it is decoded gives the answer of the same file decoded whole, and the
//! windows of a recording that arrives in chunks are those of the whole recording. Native: the
//! page analyses prepared samples, through the same windows and scoring.
#![cfg(not(target_arch = "wasm32"))]

use timnet::analysis::{Analyzer, ONE_RECORDING_OF_A_SPEAKER, Window, Windower, block_on};
use timnet::audio::{encode_wav, prepare};
use timnet::burn::prelude::Device;
use timnet_testkit::{fixture_bytes, shipped_weights};

/// A voiced-like test signal: a few harmonics of a gliding pitch, with a seeded noise floor.
fn signal(seconds: f32, rate: u32, channels: usize) -> Vec<f32> {
    let n = (seconds * rate as f32) as usize;
    let mut state = 0x9e37_79b9_7f4a_7c15u64;
    (0..n)
        .flat_map(|i| {
            let t = i as f32 / rate as f32;
            let f0 = 120.0 + 40.0 * (0.7 * t).sin();
            let voiced: f32 = (1..5).map(|h| (std::f32::consts::TAU * f0 * h as f32 * t).sin() / h as f32).sum();
            state = state.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1);
            let noise = ((state >> 41) as f32 / (1u64 << 23) as f32 - 0.5) * 0.02;
            let sample = 0.2 * voiced + noise;
            (0..channels).map(move |c| sample * (1.0 - 0.3 * c as f32))
        })
        .collect()
}

#[test]
fn a_file_analysed_as_it_is_decoded_equals_the_whole_file() {
    let analyzer = Analyzer::new(shipped_weights(&Device::flex()), Device::flex());
    let files: Vec<(&str, Vec<u8>)> = vec![
        ("EmoDB utterance", fixture_bytes!("corpus/emodb_03a01Wa.wav").to_vec()),
        ("CASIA utterance", fixture_bytes!("corpus/casia_angry_201.wav").to_vec()),
        ("stereo 48 kHz tone", fixture_bytes!("tone_48000_stereo.wav").to_vec()),
        ("MP3", fixture_bytes!("tone_16000.mp3").to_vec()),
        ("20 s stereo at 44.1 kHz", encode_wav(&signal(20.0, 44_100, 2), 2, 44_100)),
        ("0.3 s at 8 kHz", encode_wav(&signal(0.3, 8_000, 1), 1, 8_000)),
    ];
    for (name, bytes) in files {
        let whole = block_on(analyzer.analyse(&prepare(&bytes).unwrap())).unwrap();
        let streamed = analyzer.analyse_bytes(&bytes).unwrap();
        assert_eq!(streamed.windows.len(), whole.windows.len(), "{name}");
        assert_eq!(streamed.notes, whole.notes, "{name}");
        assert!((streamed.seconds - whole.seconds).abs() < 1e-6, "{name}");
        for (a, b) in streamed.windows.iter().zip(&whole.windows) {
            assert_eq!((a.start_seconds, a.end_seconds), (b.start_seconds, b.end_seconds), "{name}");
            let worst = a.probabilities.iter().zip(&b.probabilities).map(|(x, y)| (x - y).abs()).fold(0.0, f32::max);
            assert!(worst <= 1e-6, "{name}: a window's probabilities differ by {worst}");
        }
        println!("{name}: {} window(s), top {:?}", streamed.windows.len(), streamed.top());
    }
}

/// One window a forward pass (the page on the CPU backend) or sixteen: the same answer.
#[test]
fn the_windows_scored_per_pass_do_not_change_the_answer() {
    let prepared = timnet::audio::prepare_samples(&signal(20.0, 16_000, 1), 1, 16_000).unwrap();
    let many = block_on(Analyzer::new(shipped_weights(&Device::flex()), Device::flex()).analyse(&prepared)).unwrap();
    let one = Analyzer::new(shipped_weights(&Device::flex()), Device::flex()).with_windows_per_pass(1);
    assert_eq!(one.windows_per_pass(), 1);
    let one = block_on(one.analyse(&prepared)).unwrap();
    assert!(many.windows.len() > 2, "{} windows", many.windows.len());
    assert_eq!(one.windows.len(), many.windows.len());
    let worst = one
        .windows
        .iter()
        .zip(&many.windows)
        .flat_map(|(a, b)| a.probabilities.iter().zip(&b.probabilities).map(|(x, y)| (x - y).abs()))
        .fold(0.0, f32::max);
    println!("{} windows, one or sixteen a pass: probabilities {worst:.1e} apart", one.windows.len());
    assert!(worst <= 1e-5, "the probabilities differ by {worst}");
}

/// A model trained on speakers' pooled statistics hears one recording normalised by itself, and
/// says so beside its answer; the shipped model, normalised as it was trained, does not.
#[test]
fn a_per_speaker_model_says_its_answer_to_one_recording_may_be_off() {
    let prepared = timnet::audio::prepare_samples(&signal(4.0, 16_000, 1), 1, 16_000).unwrap();
    let mut weights = shipped_weights(&Device::flex());
    let plain = block_on(Analyzer::new(weights.clone(), Device::flex()).analyse(&prepared)).unwrap();
    assert!(!plain.notes.iter().any(|n| n == ONE_RECORDING_OF_A_SPEAKER), "{:?}", plain.notes);
    weights.sidecar.normalisation = timnet::features::Normalisation::PerSpeaker;
    let pooled = block_on(Analyzer::new(weights, Device::flex()).analyse(&prepared)).unwrap();
    assert!(pooled.notes.iter().any(|n| n == ONE_RECORDING_OF_A_SPEAKER), "{:?}", pooled.notes);
}

#[test]
fn broken_files_get_the_same_words_either_way() {
    let analyzer = Analyzer::new(shipped_weights(&Device::flex()), Device::flex());
    for case in timnet_testkit::hostile::cases() {
        if let Err(whole) = prepare(&case.bytes) {
            let streamed = analyzer.analyse_bytes(&case.bytes).unwrap_err();
            assert_eq!(streamed.to_string(), whole.to_string(), "{}", case.name);
        }
    }
}

/// The page's preparation, which waits between stretches of audio, gives `prepare`'s samples,
/// notes and words for every file of the hostile table.
#[test]
fn prepared_in_stretches_a_file_is_prepared_alike() {
    let mut waits = 0;
    for case in timnet_testkit::hostile::cases() {
        let stretched = block_on(timnet::audio::prepare_with(&case.bytes, || {
            waits += 1;
            std::future::ready(())
        }));
        match (prepare(&case.bytes), stretched) {
            (Ok(whole), Ok(stretched)) => {
                assert_eq!(stretched.samples, whole.samples, "{}", case.name);
                assert_eq!(stretched.notes, whole.notes, "{}", case.name);
            }
            (Err(whole), Err(stretched)) => assert_eq!(stretched.to_string(), whole.to_string(), "{}", case.name),
            (whole, stretched) => panic!("{}: {whole:?} against {stretched:?}", case.name),
        }
    }
    let long = encode_wav(&signal(20.0, 16_000, 1), 1, 16_000);
    let before = waits;
    let stretched = block_on(timnet::audio::prepare_with(&long, || {
        waits += 1;
        std::future::ready(())
    }))
    .unwrap();
    assert_eq!(stretched.samples, prepare(&long).unwrap().samples);
    println!("20 s at 16 kHz: {} waits", waits - before);
    assert!(waits - before >= 5, "a 20 s file is prepared in stretches: {} waits", waits - before);
}

/// The shipped weights with another clip length (the windows depend on nothing else).
fn weights_with_clip(clip: usize) -> timnet::weights::Weights {
    let mut weights = shipped_weights(&Device::flex());
    weights.sidecar.clip_samples = clip;
    weights
}

/// The windows as the analysis made them before it streamed: one centred clip for a recording
/// no longer than a clip, else one every half clip, the last padded at its end.
fn reference(len: usize, clip: usize) -> Vec<(usize, std::ops::Range<usize>)> {
    if len <= clip {
        let left = (clip - len) / 2;
        return vec![(0, left..left + len)];
    }
    let hop = (clip / 2).max(1);
    let mut out = Vec::new();
    let mut start = 0;
    loop {
        let end = (start + clip).min(len);
        out.push((start, 0..end - start));
        if end == len {
            return out;
        }
        start += hop;
    }
}

#[test]
fn windows_are_the_same_whatever_the_chunks() {
    let clip = 10;
    for len in 1..60 {
        let samples: Vec<f32> = (0..len).map(|i| i as f32 + 1.0).collect();
        for chunk in [1, 3, 10, 11, 64] {
            let mut windower = Windower::new(clip);
            let mut windows: Vec<Window> = Vec::new();
            for part in samples.chunks(chunk) {
                windower.push(part, &mut windows);
            }
            windower.finish(&mut windows);
            let got: Vec<(usize, std::ops::Range<usize>)> = windows.iter().map(|w| (w.start, w.own.clone())).collect();
            assert_eq!(got, reference(len, clip), "{len} samples in chunks of {chunk}");
            if chunk == 1 {
                // One window alone, without the others, is the same window.
                let analyzer = Analyzer::new(weights_with_clip(clip), Device::flex());
                for (i, w) in windows.iter().enumerate() {
                    let one = analyzer.window(&samples, i).expect("the window exists");
                    assert_eq!((one.start, &one.samples, &one.own), (w.start, &w.samples, &w.own));
                }
                assert!(analyzer.window(&samples, windows.len()).is_none());
            }
            for w in &windows {
                // The window's own samples are the recording's, from its start on.
                let own = &w.samples[w.own.clone()];
                let expected = if len <= clip { &samples[..] } else { &samples[w.start..w.start + own.len()] };
                assert_eq!(own, expected, "{len} samples in chunks of {chunk}, window at {}", w.start);
                assert!(w.samples.iter().enumerate().all(|(i, &s)| w.own.contains(&i) || s == 0.0));
            }
        }
    }
}

/// The page's progress: `analyse_with` reports the samples done after each batch, rising to the
/// whole recording, and answers as `analyse` does.
#[test]
fn progress_rises_batch_by_batch_to_the_whole_recording() {
    let analyzer = Analyzer::new(shipped_weights(&Device::flex()), Device::flex());
    let prepared = prepare(&encode_wav(&signal(60.0, 16_000, 1), 1, 16_000)).unwrap();
    let mut seen = Vec::new();
    let with = block_on(analyzer.analyse_with(&prepared, |done| {
        seen.push(done);
        std::future::ready(())
    }))
    .unwrap();
    let total = prepared.samples.len();
    assert!(seen.len() >= 2, "a minute is more than one batch: {seen:?}");
    assert!(seen.windows(2).all(|w| w[0] < w[1]), "{seen:?}");
    assert_eq!(seen.last(), Some(&total));
    let whole = block_on(analyzer.analyse(&prepared)).unwrap();
    assert_eq!(with.probabilities, whole.probabilities);
    assert_eq!(with.windows.len(), whole.windows.len());
}

/// A live recording's newest clip, its features and speech frames made as the audio arrived,
/// gets the answer the clip's samples get analysed afresh; a clip that is not the model's shape
/// is analysed afresh.
#[test]
fn a_live_streams_newest_clip_is_answered_as_its_samples_are() {
    use timnet::audio::speech::Frames;
    use timnet::audio::{MODEL_RATE, prepare_samples};
    use timnet::features::FeatureStream;
    let analyzer = Analyzer::new(shipped_weights(&Device::flex()), Device::flex());
    // Syllables, so that the speech check hears speech.
    let y = timnet::audio::resample(&timnet_testkit::syllables(7.0, 16_000, 140.0, 0.3), 16_000, MODEL_RATE);
    let mut stream = FeatureStream::new(analyzer.sidecar().front_end());
    let (mut answered, mut speech_seen) = (0, [false; 2]);
    for chunk in y.chunks(5_000) {
        stream.push(chunk);
        let Some(newest) = stream.newest() else { continue };
        let (start, samples) = (newest.start, newest.samples.clone());
        let live = block_on(analyzer.analyse_clip(newest)).unwrap();
        let afresh = block_on(analyzer.analyse(&prepare_samples(&samples, 1, MODEL_RATE).unwrap())).unwrap();
        assert_eq!((&live.probabilities, live.speech), (&afresh.probabilities, afresh.speech), "at {start}");
        speech_seen[live.speech as usize] = true;
        assert_eq!(live.windows.len(), 1);
        answered += 1;
    }
    assert!(answered >= 10, "{answered} clips");
    assert!(speech_seen[1], "the voiced signal holds speech");
    let short = &y[..20_000];
    let (features, speech) = (analyzer.front_end().clip(short), Frames::of(short).judge(0..short.len()));
    let clip = timnet::features::Clip { start: 0, samples: short.to_vec(), features, speech };
    let live = block_on(analyzer.analyse_clip(clip)).unwrap();
    let afresh = block_on(analyzer.analyse(&prepare_samples(short, 1, MODEL_RATE).unwrap())).unwrap();
    assert_eq!(live.probabilities, afresh.probabilities);
}
