//! How well the speech-or-not check (timnet::audio::speech) does: misses on the corpora's
//! utterances (an utterance judged "no speech") and false alarms on synthetic non-speech (a
//! click, tones, noise, chords, hum, dithered silence judged to hold speech). Each recording is
//! judged as `timnet predict` judges it: prepared the same way, cut into the shipped model's
//! windows, speech when any window holds speech. The figures are in docs/reliability.md.
//!
//! cargo run -q -p timnet-cli --example speech_check -- \
//!     --corpus emodb ../shared/data/emodb --corpus casia ../shared/data/casia ... [--sample 300 --seed 22]

use std::path::PathBuf;
use std::sync::Mutex;

use anyhow::{Context, Result, bail};
use timnet::analysis::Analyzer;
use timnet::audio::speech::{Frames, Verdict};
use timnet::audio::{MODEL_RATE, prepare, prepare_samples};
use timnet::burn::prelude::*;
use timnet_cli::{corpus_pairs, load_weights};
use timnet_train::corpus::Corpus;

const RATE: f32 = MODEL_RATE as f32;

fn main() -> Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (mut corpora, mut sample, mut seed, mut jobs, mut show) = (Vec::new(), 0usize, 22u64, 2usize, 5usize);
    let mut it = args.iter();
    while let Some(arg) = it.next() {
        let mut value = || it.next().with_context(|| format!("{arg} needs a value"));
        match arg.as_str() {
            "--corpus" => {
                corpora.push(value()?.clone());
                corpora.push(value()?.clone());
            }
            "--sample" => sample = value()?.parse()?,
            "--seed" => seed = value()?.parse()?,
            "--jobs" => jobs = value()?.parse::<usize>()?.max(1),
            "--show" => show = value()?.parse()?,
            other => bail!(
                "unknown argument {other}: --corpus NAME DIR (repeated), --sample N, --seed S, --jobs J, --show N"
            ),
        }
    }
    let analyzer = Analyzer::new(load_weights(None, None)?.0, Device::flex());
    let judge = |samples: &[f32]| -> (bool, Verdict) {
        let frames = Frames::of(samples);
        let verdicts: Vec<Verdict> =
            analyzer.windows(samples).iter().map(|w| frames.judge(w.start..w.start + w.own.len())).collect();
        let speech = verdicts.iter().any(|v| v.speech);
        // The window closest to speech, to show why a recording was judged as it was.
        let closest = verdicts.iter().copied().max_by(|a, b| a.voiced_seconds.total_cmp(&b.voiced_seconds));
        (speech, closest.expect("every recording has a window"))
    };

    println!("Speech or not, judged on the windows of the shipped model (as `timnet predict` does).\n");
    println!("| corpus | utterances | judged speech | misses | miss rate |");
    println!("|---|---:|---:|---:|---:|");
    let mut shown = Vec::new();
    for (kind, dir) in corpus_pairs(&corpora)? {
        let corpus = Corpus::open(kind, &dir)?;
        let mut files: Vec<PathBuf> = corpus.items.iter().map(|i| i.path.clone()).collect();
        files.sort();
        if sample > 0 && sample < files.len() {
            shuffle(&mut files, seed);
            files.truncate(sample);
        }
        let misses = Mutex::new(Vec::new());
        let unreadable = Mutex::new(0usize);
        let next = Mutex::new(0usize);
        std::thread::scope(|scope| {
            for _ in 0..jobs {
                scope.spawn(|| {
                    loop {
                        let i = {
                            let mut n = next.lock().unwrap();
                            *n += 1;
                            *n - 1
                        };
                        let Some(file) = files.get(i) else { break };
                        let Ok(prepared) = std::fs::read(file)
                            .map_err(|e| e.to_string())
                            .and_then(|b| prepare(&b).map_err(|e| e.to_string()))
                        else {
                            *unreadable.lock().unwrap() += 1;
                            continue;
                        };
                        let (speech, verdict) = judge(&prepared.samples);
                        if !speech {
                            misses.lock().unwrap().push((file.clone(), verdict));
                        }
                    }
                });
            }
        });
        let (misses, unreadable) = (misses.into_inner().unwrap(), unreadable.into_inner().unwrap());
        let judged = files.len() - unreadable;
        let rate = 100.0 * misses.len() as f64 / judged.max(1) as f64;
        let unread = if unreadable > 0 { format!(" ({unreadable} unreadable)") } else { String::new() };
        println!("| {} | {judged}{unread} | {} | {} | {rate:.2}% |", kind.name(), judged - misses.len(), misses.len());
        shown.extend(misses.into_iter().take(show));
    }

    println!("\n| non-speech kind | recordings | judged speech (false alarms) | judged no speech |");
    println!("|---|---:|---:|---:|");
    let mut alarms = Vec::new();
    for (kind, cases) in synthetic() {
        let mut false_alarms = 0;
        for (name, signal) in &cases {
            let prepared = prepare_samples(signal, 1, MODEL_RATE)?;
            let (speech, verdict) = judge(&prepared.samples);
            if speech {
                false_alarms += 1;
                alarms.push((name.clone(), verdict));
            }
        }
        println!("| {kind} | {} | {false_alarms} | {} |", cases.len(), cases.len() - false_alarms);
    }
    for (file, v) in shown {
        println!("miss: {} ({})", file.display(), describe(&v));
    }
    for (name, v) in alarms {
        println!("false alarm: {name} ({})", describe(&v));
    }
    Ok(())
}

fn describe(v: &Verdict) -> String {
    format!(
        "voiced {:.2} s, spread {:.1} dB, loudest {:.1} dBFS, tonal frames {}",
        v.voiced_seconds, v.spread_db, v.loudest_db, v.tonal_frames
    )
}

/// A seeded Fisher–Yates shuffle (splitmix64), so that a sample can be drawn again.
fn shuffle<T>(items: &mut [T], seed: u64) {
    let mut state = seed;
    let mut next = || {
        state = state.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = state;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    };
    for i in (1..items.len()).rev() {
        let j = (next() % (i as u64 + 1)) as usize;
        items.swap(i, j);
    }
}

/// Peak levels every kind is made at, in dBFS.
const LEVELS_DB: [f32; 4] = [-40.0, -20.0, -6.0, 0.0];
const SECONDS: f32 = 3.0;

fn amplitude(db: f32) -> f32 {
    10f32.powf(db / 20.0)
}

/// Scaled so that its peak is at `db` dBFS.
fn at_level(mut signal: Vec<f32>, db: f32) -> Vec<f32> {
    let peak = signal.iter().fold(0.0f32, |m, s| m.max(s.abs())).max(1e-12);
    let gain = amplitude(db) / peak;
    signal.iter_mut().for_each(|s| *s *= gain);
    signal
}

fn samples(seconds: f32) -> usize {
    (seconds * RATE) as usize
}

/// Gaussian-ish white noise (sum of four uniforms) from a seeded generator.
fn white(seconds: f32, seed: u32) -> Vec<f32> {
    let mut state = seed.wrapping_mul(2_654_435_761).max(1);
    let mut uniform = || {
        state ^= state << 13;
        state ^= state >> 17;
        state ^= state << 5;
        state as f32 / u32::MAX as f32 - 0.5
    };
    (0..samples(seconds)).map(|_| uniform() + uniform() + uniform() + uniform()).collect()
}

/// Pink noise: white noise through Paul Kellet's 1/f filter.
fn pink(seconds: f32, seed: u32) -> Vec<f32> {
    let mut b = [0.0f32; 7];
    white(seconds, seed)
        .into_iter()
        .map(|w| {
            b[0] = 0.99886 * b[0] + w * 0.055_518;
            b[1] = 0.99332 * b[1] + w * 0.075_076;
            b[2] = 0.969 * b[2] + w * 0.153_852;
            b[3] = 0.8665 * b[3] + w * 0.310_486;
            b[4] = 0.55 * b[4] + w * 0.532_952;
            b[5] = -0.7616 * b[5] - w * 0.016_898;
            let out = b.iter().sum::<f32>() + w * 0.5362;
            b[6] = w * 0.115926;
            out
        })
        .collect()
}

/// A harmonic tone (harmonics falling 6 dB an octave) whose pitch may wobble: `vibrato` is the
/// depth as a fraction of the pitch, at 5.5 Hz.
fn harmonic(f0: f32, harmonics: usize, vibrato: f32, seconds: f32) -> Vec<f32> {
    let mut phase = 0.0f32;
    (0..samples(seconds))
        .map(|i| {
            let t = i as f32 / RATE;
            phase += std::f32::consts::TAU * f0 * (1.0 + vibrato * (std::f32::consts::TAU * 5.5 * t).sin()) / RATE;
            (1..=harmonics).map(|h| (h as f32 * phase).sin() / h as f32).sum()
        })
        .collect()
}

fn mix(parts: &[Vec<f32>]) -> Vec<f32> {
    let n = parts.iter().map(Vec::len).max().unwrap_or(0);
    (0..n).map(|i| parts.iter().map(|p| p.get(i).copied().unwrap_or(0.0)).sum()).collect()
}

/// Recordings by name.
type Recordings = Vec<(String, Vec<f32>)>;

/// Every synthetic kind and its recordings.
fn synthetic() -> Vec<(&'static str, Recordings)> {
    let mut kinds = Vec::new();
    let levelled = |name: &str, signal: Vec<f32>| -> Recordings {
        LEVELS_DB.iter().map(|&db| (format!("{name} at {db} dBFS"), at_level(signal.clone(), db))).collect()
    };

    let mut clicks = Vec::new();
    let mut one = vec![0.0; samples(SECONDS)];
    one[samples(1.0)] = 1.0;
    clicks.push(("one full-scale click in 3 s of zeros".to_string(), one));
    let mut train = vec![0.0; samples(SECONDS)];
    (0..samples(SECONDS)).step_by(samples(0.2)).for_each(|i| train[i] = 1.0);
    clicks.extend(levelled("5 clicks a second", train));
    let mut irregular = vec![0.0; samples(SECONDS)];
    let mut at = 0usize;
    for k in 0..40usize {
        at += samples(0.02) + (k * 7919) % samples(0.12);
        if at < irregular.len() {
            irregular[at] = if k % 2 == 0 { 1.0 } else { -0.7 };
        }
    }
    clicks.extend(levelled("irregular clicks", irregular));
    kinds.push(("clicks", clicks));

    let mut sines = Vec::new();
    for hz in [100.0, 250.0, 440.0, 1_000.0, 3_000.0] {
        let sine: Vec<f32> =
            (0..samples(SECONDS)).map(|i| (std::f32::consts::TAU * hz * i as f32 / RATE).sin()).collect();
        sines.extend(levelled(&format!("{hz} Hz sine"), sine));
    }
    kinds.push(("sine tones (100 Hz to 3 kHz)", sines));

    let mut beeps = Vec::new();
    for hz in [440.0, 1_000.0] {
        let beep: Vec<f32> = (0..samples(SECONDS))
            .map(|i| {
                let on = (i / samples(0.2)).is_multiple_of(2);
                if on { (std::f32::consts::TAU * hz * i as f32 / RATE).sin() } else { 0.0 }
            })
            .collect();
        beeps.extend(levelled(&format!("{hz} Hz beeps, 0.2 s on and off"), beep));
    }
    kinds.push(("sine beeps", beeps));

    let (mut whites, mut pinks) = (Vec::new(), Vec::new());
    for seed in 1..=3 {
        whites.extend(levelled(&format!("white noise {seed}"), white(SECONDS, seed)));
        pinks.extend(levelled(&format!("pink noise {seed}"), pink(SECONDS, seed)));
    }
    kinds.push(("white noise", whites));
    kinds.push(("pink noise", pinks));

    let mut chords = Vec::new();
    for (name, roots) in [("C major", [130.81, 164.81, 196.0]), ("A minor", [220.0, 261.63, 329.63])] {
        for vibrato in [0.0, 0.01, 0.03] {
            let chord = mix(&roots.map(|f| harmonic(f, 8, vibrato, SECONDS)));
            chords.extend(levelled(&format!("{name} chord, vibrato {vibrato}"), chord));
        }
    }
    kinds.push(("chords (8 harmonics, vibrato 0, 1%, 3%)", chords));

    let mut notes = Vec::new();
    for f0 in [110.0, 220.0, 330.0] {
        for vibrato in [0.0, 0.01, 0.03] {
            notes.extend(levelled(
                &format!("{f0} Hz harmonic tone, vibrato {vibrato}"),
                harmonic(f0, 12, vibrato, SECONDS),
            ));
        }
    }
    kinds.push(("harmonic tones (12 harmonics, vibrato 0, 1%, 3%)", notes));

    let mut hums = Vec::new();
    for mains in [50.0, 60.0] {
        hums.extend(levelled(&format!("{mains} Hz hum"), harmonic(mains, 6, 0.0, SECONDS)));
        let noisy = mix(&[harmonic(mains, 6, 0.0, SECONDS), at_level(white(SECONDS, 7), -30.0)]);
        hums.extend(levelled(&format!("{mains} Hz hum with hiss"), noisy));
    }
    kinds.push(("mains hum (50/60 Hz, 6 harmonics)", hums));

    // 16-bit TPDF dither alone: a recorder's "silence".
    let lsb = 1.0 / 32_768.0;
    let dither: Vec<f32> = white(SECONDS, 11).iter().zip(white(SECONDS, 12)).map(|(a, b)| (a - b) * lsb).collect();
    let mut silences = vec![("16-bit dither".to_string(), dither)];
    silences.push(("-60 dBFS white noise".to_string(), at_level(white(SECONDS, 13), -60.0)));
    kinds.push(("silence with dither", silences));

    // Notes of a tune with gaps between them: the hardest case for these rules.
    let mut melodies = Vec::new();
    for vibrato in [0.0, 0.02] {
        let mut tune = Vec::new();
        for (k, f0) in [196.0, 220.0, 246.94, 261.63, 293.66, 261.63, 246.94].iter().enumerate() {
            let note = harmonic(*f0, 10, vibrato, 0.35);
            let n = note.len();
            // An attack and a decay, then 0.08 s of silence.
            tune.extend(
                note.iter().enumerate().map(|(i, s)| s * (i as f32 / 200.0).min(1.0) * (1.0 - i as f32 / n as f32)),
            );
            tune.extend(vec![0.0; samples(0.08 + 0.01 * k as f32)]);
        }
        melodies.extend(levelled(&format!("melody, vibrato {vibrato}"), tune));
    }
    kinds.push(("melody (harmonic notes with gaps)", melodies));
    kinds
}
