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
