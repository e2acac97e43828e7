//! The `timnet` binary as a person uses it: what it prints, and its errors for bad input.
#![cfg(not(target_arch = "wasm32"))]

mod common;

use std::process::Command;

use timnet::audio::encode_wav;

fn timnet(args: &[&str]) -> (bool, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_timnet")).args(args).output().expect("timnet runs");
    (out.status.success(), String::from_utf8_lossy(&out.stdout).into(), String::from_utf8_lossy(&out.stderr).into())
}

#[test]
fn info_prints_both_parameter_counts() {
    let (ok, out, _) = timnet(&["info"]);
    assert!(ok);
    assert!(out.contains("trainable parameters: 104,496"), "{out}");
    assert!(out.contains("(as Keras counts): 106,992"), "{out}");
    assert!(out.contains("forward TAB 8 (dilation 128)"), "{out}");
}

#[test]
fn mfcc_writes_frames_by_39() {
    let dir = common::scratch("cli-mfcc");
    let wav = dir.join("tone.wav");
    let tone: Vec<f32> = (0..16_000).map(|i| (i as f32 * 0.05).sin() * 0.5).collect();
    std::fs::write(&wav, encode_wav(&tone, 1, 16_000)).unwrap();
    let npy = dir.join("x.npy");
    let (ok, _, err) = timnet(&["mfcc", wav.to_str().unwrap(), "--out", npy.to_str().unwrap(), "--length", "96000"]);
    assert!(ok, "{err}");
    let (shape, _) = common::npy(&std::fs::read(&npy).unwrap());
    assert_eq!(shape, vec![188, 39]);
    let (ok, csv, _) = timnet(&["mfcc", wav.to_str().unwrap()]);
    assert!(ok);
    // 1 s at 16 kHz is 22,050 samples at the model rate: 1 + 22050 / 512 frames.
    assert_eq!(csv.lines().count(), 44);
    assert!(csv.lines().all(|l| l.split(',').count() == 39));
}

#[test]
fn bad_files_get_a_message_and_a_failing_exit() {
    let dir = common::scratch("cli-bad");
    let cases: [(&str, Vec<u8>, &str); 4] = [
        ("empty.wav", Vec::new(), "the file is empty"),
        ("noise.wav", (0..5000u32).map(|i| (i.wrapping_mul(2_654_435_761) >> 11) as u8).collect(), "not an audio file"),
        ("one.wav", encode_wav(&[0.5], 1, 16_000), "too short"),
        ("cut.wav", encode_wav(&[0.1; 100], 1, 16_000)[..30].to_vec(), ""),
    ];
    for (name, bytes, message) in cases {
        let path = dir.join(name);
        std::fs::write(&path, bytes).unwrap();
        let (ok, _, err) = timnet(&["mfcc", path.to_str().unwrap()]);
        assert!(!ok, "{name} must fail");
        assert!(err.starts_with("error: ") && err.contains(message), "{name}: {err}");
        assert!(!err.contains("panicked"), "{name}: {err}");
    }
    let (ok, _, err) = timnet(&["mfcc", dir.join("missing.wav").to_str().unwrap()]);
    assert!(!ok && err.contains("No such file"), "{err}");
}

#[test]
fn predict_refuses_missing_or_broken_weights_in_words() {
    let dir = common::scratch("cli-weights");
    let wav = dir.join("a.wav");
    std::fs::write(&wav, encode_wav(&[0.1; 4000], 1, 16_000)).unwrap();
    let (ok, _, err) = timnet(&["predict", "--weights", dir.to_str().unwrap(), wav.to_str().unwrap()]);
    assert!(!ok && err.contains("cannot load weights"), "{err}");
    std::fs::write(dir.join("model.json"), "{\"format\": \"something else\"}").unwrap();
    std::fs::write(dir.join("model.bpk"), b"xx").unwrap();
    let (ok, _, err) = timnet(&["predict", "--weights", dir.to_str().unwrap(), wav.to_str().unwrap()]);
    assert!(!ok && err.contains("sidecar is not valid"), "{err}");
}

/// A tone with a slow glide, like a voice, at any rate and channel count.
fn voice(seconds: f32, rate: u32, channels: u16, amplitude: f32) -> Vec<u8> {
    let n = (seconds * rate as f32) as usize;
    let mut interleaved = Vec::with_capacity(n * channels as usize);
    for i in 0..n {
        let t = i as f32 / rate as f32;
        let v = amplitude * (2.0 * std::f32::consts::PI * (160.0 + 30.0 * (2.0 * t).sin()) * t).sin();
        for c in 0..channels {
            interleaved.push(v * (1.0 - 0.1 * c as f32));
        }
    }
    encode_wav(&interleaved, channels, rate)
}

#[test]
fn unusual_but_valid_audio_is_analysed_with_notes_where_doubtful() {
    let dir = common::scratch("cli-unusual");
    // (file, bytes, what a note must say, or "" for no note)
    let cases: Vec<(&str, Vec<u8>, &str)> = vec![
        ("10ms.wav", voice(0.01, 16_000, 1, 0.5), "padded with silence"),
        ("silence.wav", encode_wav(&vec![0.0; 32_000], 1, 16_000), "No speech detected"),
        ("clipped.wav", voice(2.0, 16_000, 1, 4.0), "clipped at full scale"),
        ("8k.wav", voice(2.0, 8_000, 1, 0.5), ""),
        ("96k.wav", voice(2.0, 96_000, 1, 0.5), ""),
        ("six-channels.wav", voice(2.0, 48_000, 6, 0.5), ""),
        ("long.wav", voice(30.0, 16_000, 2, 0.5), ""),
        ("mp3-named.wav", fixture_bytes!("tone_16000.mp3").to_vec(), ""),
    ];
    for (name, bytes, note) in cases {
        let path = dir.join(name);
        std::fs::write(&path, bytes).unwrap();
        let (ok, out, err) = timnet(&["predict", "--json", path.to_str().unwrap()]);
        assert!(ok, "{name}: {err}");
        let report: serde_json::Value = serde_json::from_str(&out).unwrap();
        let analysis = &report[0]["analysis"];
        let total: f64 = analysis["probabilities"].as_array().unwrap().iter().map(|p| p.as_f64().unwrap()).sum();
        assert!((total - 1.0).abs() < 1e-4, "{name}: probabilities sum to {total}");
        let notes = analysis["notes"].as_array().unwrap();
        if note.is_empty() {
            assert!(notes.is_empty(), "{name}: unexpected notes {notes:?}");
        } else {
            assert!(notes.iter().any(|n| n.as_str().unwrap().contains(note)), "{name}: notes {notes:?}");
        }
        let windows = analysis["windows"].as_array().unwrap().len();
        let seconds = analysis["seconds"].as_f64().unwrap();
        // Hop half a clip (4.35 s): a 30 s file needs 13 windows, a short one 1.
        let expected = if seconds <= 96_000.0 / 22_050.0 { 1 } else { ((seconds - 4.354) / 2.177).ceil() as usize + 1 };
        assert_eq!(windows, expected, "{name}: {seconds} s");
    }
}

/// 32-bit float WAV bytes (format tag 3), which may hold NaN or infinity.
fn float_wav(samples: &[f32], rate: u32) -> Vec<u8> {
    let data: Vec<u8> = samples.iter().flat_map(|s| s.to_le_bytes()).collect();
    let mut b = Vec::new();
    b.extend_from_slice(b"RIFF");
    b.extend_from_slice(&(36 + data.len() as u32).to_le_bytes());
    b.extend_from_slice(b"WAVEfmt ");
    b.extend_from_slice(&16u32.to_le_bytes());
    b.extend_from_slice(&3u16.to_le_bytes());
    b.extend_from_slice(&1u16.to_le_bytes());
    b.extend_from_slice(&rate.to_le_bytes());
    b.extend_from_slice(&(rate * 4).to_le_bytes());
    b.extend_from_slice(&4u16.to_le_bytes());
    b.extend_from_slice(&32u16.to_le_bytes());
    b.extend_from_slice(b"data");
    b.extend_from_slice(&(data.len() as u32).to_le_bytes());
    b.extend_from_slice(&data);
    b
}

/// 16-bit mono AIFF bytes at 16 kHz.
fn aiff_16k(samples: &[f32]) -> Vec<u8> {
    let data: Vec<u8> = samples.iter().flat_map(|s| ((s.clamp(-1.0, 1.0) * 32767.0) as i16).to_be_bytes()).collect();
    let mut b = Vec::new();
    b.extend_from_slice(b"FORM");
    b.extend_from_slice(&(4 + 26 + 16 + data.len() as u32).to_be_bytes());
    b.extend_from_slice(b"AIFFCOMM");
    b.extend_from_slice(&18u32.to_be_bytes());
    b.extend_from_slice(&1u16.to_be_bytes());
    b.extend_from_slice(&(samples.len() as u32).to_be_bytes());
    b.extend_from_slice(&16u16.to_be_bytes());
    // 16,000 as an 80-bit extended float: exponent 16383 + 13, mantissa 16000 << 50.
    b.extend_from_slice(&[0x40, 0x0c, 0xfa, 0, 0, 0, 0, 0, 0, 0]);
    b.extend_from_slice(b"SSND");
    b.extend_from_slice(&(8 + data.len() as u32).to_be_bytes());
    b.extend_from_slice(&[0; 8]);
    b.extend_from_slice(&data);
    b
}

#[test]
fn float_samples_aiff_and_lying_headers() {
    let dir = common::scratch("cli-formats");
    let tone: Vec<f32> = (0..16_000).map(|i| 0.3 * (i as f32 * 0.07).sin()).collect();
    let mut nan = tone.clone();
    nan[500] = f32::NAN;
    let mut inf = tone.clone();
    inf[7] = f32::INFINITY;
    let mut huge = encode_wav(&tone, 1, 16_000);
    let at = huge.windows(4).position(|w| w == b"data").unwrap() + 4;
    huge[at..at + 4].copy_from_slice(&0xffff_fff0u32.to_le_bytes());
    // (file, bytes, Ok(()) if it must be analysed, Err(message) if it must fail)
    let cases: Vec<(&str, Vec<u8>, Result<(), &str>)> = vec![
        ("float.wav", float_wav(&tone, 16_000), Ok(())),
        ("nan.wav", float_wav(&nan, 16_000), Err("NaN")),
        ("inf.wav", float_wav(&inf, 16_000), Err("infinite")),
        ("aiff-named.wav", aiff_16k(&tone), Ok(())),
        ("huge-header.wav", huge, Ok(())),
    ];
    for (name, bytes, expected) in cases {
        let path = dir.join(name);
        std::fs::write(&path, bytes).unwrap();
        let (ok, out, err) = timnet(&["predict", path.to_str().unwrap()]);
        assert!(!err.contains("panicked"), "{name}: {err}");
        match expected {
            Ok(()) => assert!(ok && out.contains("window"), "{name}: {err}"),
            Err(message) => assert!(!ok && err.contains(message), "{name}: {err}"),
        }
    }
}
