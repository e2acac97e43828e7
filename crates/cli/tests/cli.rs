//! The `timnet` binary as a person uses it: what it prints, and its errors for bad input.
#![cfg(not(target_arch = "wasm32"))]

use timnet_testkit::{self as common, synthetic_corpus};

use common::hostile::{self, Case, Expect};

use std::path::Path;
use std::process::Command;

use timnet::audio::encode_wav;

/// The default model's clip length, in samples at 22,050 Hz.
fn default_clip() -> usize {
    timnet::weights::Sidecar::from_json(timnet::weights::shipped::DEFAULT.sidecar).unwrap().clip_samples
}

fn timnet(args: &[&str]) -> (bool, String, String) {
    output(Command::new(env!("CARGO_BIN_EXE_timnet")).args(args))
}

fn output(command: &mut Command) -> (bool, String, String) {
    let out = command.output().expect("timnet runs");
    (out.status.success(), String::from_utf8_lossy(&out.stdout).into(), String::from_utf8_lossy(&out.stderr).into())
}

/// A 16 kHz WAV of `len` samples of a sine, `step` radians a sample.
fn tone_file(path: &Path, len: usize, step: f32, amplitude: f32) {
    let tone: Vec<f32> = (0..len).map(|i| (i as f32 * step).sin() * amplitude).collect();
    std::fs::write(path, encode_wav(&tone, 1, 16_000)).unwrap();
}

#[test]
fn info_prints_both_parameter_counts() {
    let (ok, out, _) = timnet(&["info"]);
    assert!(ok);
    // The default model: five emotions, so a smaller head than the paper's seven.
    assert!(out.contains("weights: shipped model mix"), "{out}");
    assert!(out.contains("labels: angry, fear, happy, neutral, sad"), "{out}");
    let (ok, out, _) = timnet(&["info", "--model", "emodb"]);
    assert!(ok);
    assert!(out.contains("trainable parameters: 104,496"), "{out}");
    assert!(out.contains("(as Keras counts): 106,992"), "{out}");
    assert!(out.contains("forward TAB 8 (dilation 128)"), "{out}");
    let shipped = common::workspace_dir().join("model-weights/emodb");
    // `--weights DIR` as for the other commands; the older positional form still works.
    for args in [vec!["info", "--weights", shipped.to_str().unwrap()], vec!["info", shipped.to_str().unwrap()]] {
        let (ok, out, err) = timnet(&args);
        assert!(ok, "{err}");
        assert!(out.contains("labels: angry, boredom, disgust, fear, happy, neutral, sad"), "{out}");
    }
    let (ok, out, err) = timnet(&["info", "--model", "emodb", "--tensors"]);
    assert!(ok, "{err}");
    assert!(out.contains("forward_tabs.7.conv2.weight") && out.contains("fwd.tab7.conv1.kernel"), "{out}");
    let (ok, _, err) = timnet(&["info", "--model", "nonesuch"]);
    assert!(!ok && err.contains("no shipped model \"nonesuch\""), "{err}");
    assert!(out.contains("notes: 535 utterances; protocol Final; stored in half precision"), "{out}");
}

#[test]
fn shipped_weights_need_no_files_beside_the_program() {
    // Far from the source tree, with no weights named: the ones compiled in.
    let dir = common::scratch("cli-elsewhere");
    let wav = dir.join("tone.wav");
    tone_file(&wav, 16_000, 0.05, 0.5);
    let program = || {
        let mut command = Command::new(env!("CARGO_BIN_EXE_timnet"));
        command.current_dir(&dir).env_remove("TIMNET_WEIGHTS");
        command
    };
    let (ok, out, err) = output(program().arg("info"));
    assert!(ok, "{err}");
    assert!(out.contains("weights: shipped model mix (model-weights/mix)"), "{out}");
    assert!(
        out.contains("notes: 10558 utterances; split \"all data\"; protocol Final; stored in half precision"),
        "{out}"
    );
    let (ok, out, err) = output(program().args(["predict", "tone.wav"]));
    assert!(ok, "{err}");
    assert!(out.contains("tone.wav"), "{out}");
    // TIMNET_WEIGHTS names another directory; a missing one is an error, not a silent fallback.
    let (ok, _, err) = output(program().args(["predict", "tone.wav"]).env("TIMNET_WEIGHTS", dir.join("none")));
    assert!(!ok && err.contains("cannot load weights from"), "{err}");
}

#[test]
fn mfcc_writes_frames_by_39() {
    let dir = common::scratch("cli-mfcc");
    let wav = dir.join("tone.wav");
    tone_file(&wav, 16_000, 0.05, 0.5);
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
fn every_hostile_or_unusual_file_gets_a_sane_answer() {
    let dir = common::scratch("cli-hostile");
    for Case { name, bytes, expect } in hostile::cases() {
        let path = dir.join(name);
        std::fs::write(&path, bytes).unwrap();
        let (ok, out, err) = timnet(&["predict", "--json", path.to_str().unwrap()]);
        assert!(!err.contains("panicked"), "{name}: {err}");
        let report: serde_json::Value = serde_json::from_str(&out).unwrap_or_else(|e| panic!("{name}: {e}: {out}"));
        match expect {
            Expect::Refused(message) => {
                assert!(!ok && err.starts_with("error: 1 of 1 file(s) could not be analysed"), "{name}: {err}");
                let error = report[0]["error"].as_str().unwrap_or_default();
                assert!(error.contains(message), "{name}: {error}");
            }
            Expect::Analysed(note) => {
                assert!(ok, "{name}: {err}");
                let analysis = &report[0]["analysis"];
                let probabilities = analysis["probabilities"].as_array().unwrap();
                let total: f64 = probabilities.iter().map(|p| p.as_f64().unwrap()).sum();
                assert!((total - 1.0).abs() < 1e-4, "{name}: probabilities sum to {total}");
                let notes = analysis["notes"].as_array().unwrap();
                if note.is_empty() {
                    assert!(notes.is_empty(), "{name}: unexpected notes {notes:?}");
                } else {
                    assert!(notes.iter().any(|n| n.as_str().unwrap().contains(note)), "{name}: notes {notes:?}");
                }
                let seconds = analysis["seconds"].as_f64().unwrap();
                let windows = analysis["windows"].as_array().unwrap().len();
                assert_eq!(windows, hostile::expected_windows(seconds, default_clip()), "{name}: {seconds} s");
            }
        }
    }
    let (ok, _, err) = timnet(&["mfcc", dir.join("missing.wav").to_str().unwrap()]);
    assert!(!ok && err.contains("No such file"), "{err}");
}

/// The formats only the native program decodes (the core's `formats` feature; the page hands
/// them to the browser): tests/fixtures/formats, each analysed for as long as it lasts, and
/// those it does not read refused with the container and codec named.
#[test]
fn the_formats_people_drop_are_analysed_natively() {
    let dir = common::workspace_dir().join("tests/fixtures/formats");
    let analysed = [
        ("aac.m4a", 0.3),
        ("alac.m4a", 0.3),
        ("ima-adpcm.wav", 0.3),
        ("ms-adpcm.wav", 0.3),
        ("pcm.caf", 0.3),
        ("alac.caf", 0.3),
        ("rf64.wav", 0.3),
        ("wave64.w64", 0.3),
        ("au16.au", 0.3),
        ("mulaw.au", 0.3),
        ("opus.opus", 0.3),
        ("opus.webm", 0.3),
        ("chained.ogg", 0.6),
        ("joined.mp3", 0.6),
    ];
    for (name, source_seconds) in analysed {
        let (ok, out, err) = timnet(&["predict", "--json", dir.join(name).to_str().unwrap()]);
        assert!(ok, "{name}: {err}");
        let report: serde_json::Value = serde_json::from_str(&out).unwrap();
        let seconds = report[0]["analysis"]["seconds"].as_f64().unwrap();
        // Codecs pad a little (encoder delay, a last block); none loses a part.
        assert!((source_seconds..source_seconds + 0.2).contains(&seconds), "{name}: {seconds} s");
    }
    for (name, message) in [
        ("wavpack.wv", "WavPack audio is not supported by this program"),
        ("ac3.m4a", "AC-3 audio in an MP4 container is not supported by this program"),
    ] {
        let (ok, out, err) = timnet(&["predict", "--json", dir.join(name).to_str().unwrap()]);
        assert!(!ok && !err.contains("panicked"), "{name}: {err}");
        let report: serde_json::Value = serde_json::from_str(&out).unwrap();
        let error = report[0]["error"].as_str().unwrap_or_default();
        assert!(error.ends_with(&format!("{name}: {message}")), "{name}: {error}");
    }
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

#[test]
fn export_writes_weights_that_predict_the_same() {
    let dir = common::scratch("cli-export");
    let shipped = common::workspace_dir().join("model-weights/emodb");
    // Speech, so that the probabilities are printed and compared.
    let wav = common::fixture_path("corpus/emodb_03a01Fa.wav");
    let (full, half) = (dir.join("full"), dir.join("half"));
    for (out, extra) in [(&full, None), (&half, Some("--half"))] {
        let mut args = vec!["export", shipped.to_str().unwrap(), out.to_str().unwrap()];
        args.extend(extra);
        let (ok, _, err) = timnet(&args);
        assert!(ok, "{err}");
    }
    let size = |d: &Path| std::fs::metadata(d.join("model.bpk")).unwrap().len();
    // The shipped record is already half precision: exporting it in full doubles its numbers.
    assert!(size(&half) * 10 < size(&full) * 6, "{} vs {} bytes", size(&half), size(&full));
    let predict = |weights: &Path| {
        let (ok, out, err) = timnet(&["predict", "--weights", weights.to_str().unwrap(), wav.to_str().unwrap()]);
        assert!(ok, "{err}");
        out
    };
    // Rounding the shipped numbers to half precision again changes none of them.
    assert_eq!(predict(&full), predict(&half));
    assert_eq!(predict(&half), predict(&shipped));
}

#[test]
fn predict_says_no_speech_detected_for_a_tone_instead_of_an_emotion() {
    let dir = common::scratch("cli-no-speech");
    let tone = dir.join("tone.wav");
    // 1 kHz at 16 kHz, 3 s, near full scale: the network alone called it angry (95.6%).
    tone_file(&tone, 48_000, std::f32::consts::TAU * 1_000.0 / 16_000.0, 0.9);
    let (ok, out, err) = timnet(&["predict", tone.to_str().unwrap()]);
    assert!(ok, "{err}");
    assert!(out.contains("tone.wav: no speech detected over 3.00 s"), "{out}");
    assert!(out.contains("note: No speech detected: the sound is a pure tone"), "{out}");
    assert!(!out.contains('%'), "no emotion is presented: {out}");
    let (ok, json, err) = timnet(&["predict", "--json", tone.to_str().unwrap()]);
    assert!(ok, "{err}");
    let report: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert!(report[0]["top"].is_null(), "{json}");
    let analysis = &report[0]["analysis"];
    assert_eq!(analysis["speech"], false, "{json}");
    assert!(analysis["windows"].as_array().unwrap().iter().all(|w| w["speech"] == false), "{json}");
    // The probabilities stay available, though they are no answer.
    let total: f64 = analysis["probabilities"].as_array().unwrap().iter().map(|p| p.as_f64().unwrap()).sum();
    assert!((total - 1.0).abs() < 1e-4, "{total}");
    // Speech gets its emotion as before.
    let speech = common::fixture_path("corpus/emodb_03a01Fa.wav");
    let (ok, json, err) = timnet(&["predict", "--json", speech.to_str().unwrap()]);
    assert!(ok, "{err}");
    let report: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert!(report[0]["top"].is_string() && report[0]["analysis"]["speech"] == true, "{json}");
    // Speech, then 8 s of the tone: the tone's windows are marked and left out of the answer.
    let mut mixed = timnet::audio::prepare(&std::fs::read(&speech).unwrap()).unwrap().samples;
    let rate = timnet::audio::MODEL_RATE as f32;
    mixed.extend((0..8 * 22_050).map(|i| 0.9 * (std::f32::consts::TAU * 1_000.0 * i as f32 / rate).sin()));
    let file = dir.join("speech-then-tone.wav");
    std::fs::write(&file, encode_wav(&mixed, 1, timnet::audio::MODEL_RATE)).unwrap();
    let (ok, json, err) = timnet(&["predict", "--json", file.to_str().unwrap()]);
    assert!(ok, "{err}");
    let report: serde_json::Value = serde_json::from_str(&json).unwrap();
    let analysis = &report[0]["analysis"];
    let marks: Vec<bool> = analysis["windows"].as_array().unwrap().iter().map(|w| w["speech"] == true).collect();
    assert!(marks[0] && !marks[marks.len() - 1], "{marks:?}");
    let without = marks.iter().filter(|m| !**m).count();
    let note = format!("{without} of {} windows hold no speech", marks.len());
    assert!(analysis["notes"].as_array().unwrap().iter().any(|n| n.as_str().unwrap().starts_with(&note)), "{json}");
}

#[test]
fn a_closed_pipe_ends_the_program_quietly() {
    use std::os::unix::process::ExitStatusExt;
    // A pipe whose reading end is already closed, as after `timnet info | head -0`.
    let (reader, writer) = std::io::pipe().unwrap();
    drop(reader);
    let out = Command::new(env!("CARGO_BIN_EXE_timnet")).arg("info").stdout(writer).output().expect("timnet runs");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!err.contains("panicked"), "{err}");
    assert_eq!(out.status.signal(), Some(libc::SIGPIPE), "{:?}", out.status);
}

#[test]
fn numeric_options_are_bounded_in_words() {
    let dir = common::scratch("cli-bounds");
    let wav = dir.join("tone.wav");
    tone_file(&wav, 1600, 0.05, 0.5);
    for length in ["1", "1000000000000"] {
        let (ok, _, err) = timnet(&["mfcc", wav.to_str().unwrap(), "--length", length]);
        assert!(!ok && err.contains("--length must be 2 to 1323000"), "{length}: {err}");
    }
}

/// `train --backend wgpu` from a build without the GPU stack says how to get one, before it
/// reads any corpus.
#[cfg(not(feature = "wgpu"))]
#[test]
fn training_on_a_gpu_without_the_wgpu_build_is_explained() {
    let dir = common::scratch("cli-train-wgpu");
    let mut train = Command::new(env!("CARGO_BIN_EXE_train"));
    let missing = dir.join("no-corpus-here");
    train
        .args(["--corpus", "folder"])
        .arg(&missing)
        .args(["--final", "--backend", "wgpu", "--out"])
        .arg(dir.join("run"));
    let (ok, _, err) = output(&mut train);
    assert!(!ok && err.contains("needs the program built with the `wgpu` feature"), "{err}");
}

/// `--devices` without the GPU backend, or naming no adapter, is refused in words before any
/// corpus is read.
#[test]
fn training_devices_are_checked_before_the_corpora() {
    let dir = common::scratch("cli-train-devices");
    let train = |args: &[&str]| {
        let mut train = Command::new(env!("CARGO_BIN_EXE_train"));
        train
            .args(["--corpus", "folder"])
            .arg(dir.join("no-corpus-here"))
            .args(["--final", "--out"])
            .arg(dir.join("run"));
        output(train.args(args))
    };
    let (ok, _, err) = train(&["--devices", "2"]);
    assert!(!ok && err.contains("--devices needs a GPU backend"), "{err}");
    let (ok, _, err) = train(&["--backend", "wgpu", "--devices", "default,warp:1"]);
    #[cfg(feature = "wgpu")]
    assert!(!ok && err.contains("\"warp:1\" is not a wgpu adapter's name"), "{err}");
    #[cfg(not(feature = "wgpu"))]
    assert!(!ok && err.contains("needs the program built with the `wgpu` feature"), "{err}");
    // Where there is no NVIDIA driver (CI), CUDA says so; a machine with one trains on it.
    let (ok, _, err) = train(&["--backend", "cuda", "--devices", "cuda:0,gpu:1"]);
    #[cfg(feature = "cuda")]
    assert!(
        !ok && (err.contains("no CUDA device found") || err.contains("\"gpu:1\" is not a CUDA device's name")),
        "{err}"
    );
    #[cfg(not(feature = "cuda"))]
    assert!(!ok && err.contains("needs the program built with the `cuda` feature"), "{err}");
}

/// `--adversary` is refused in words where it cannot work: a negative weight, one corpus (there
/// is nothing to tell apart), or a backend other than the fused CPU step.
#[test]
fn domain_adversarial_training_is_checked_before_the_corpora() {
    let dir = common::scratch("cli-train-adversary");
    let (one, two) = (dir.join("one"), dir.join("two"));
    let train = |corpora: &[&std::path::Path], args: &[&str]| {
        let mut train = Command::new(env!("CARGO_BIN_EXE_train"));
        for corpus in corpora {
            train.args(["--corpus", "folder"]).arg(corpus);
        }
        train.args(["--final", "--out"]).arg(dir.join("run"));
        output(train.args(args))
    };
    for weight in ["--adversary=-1", "--adversary=nan"] {
        let (ok, _, err) = train(&[&one, &two], &[weight]);
        assert!(!ok && err.contains("--adversary takes a weight of 0 (off) or more"), "{weight}: {err}");
    }
    let (ok, _, err) = train(&[&one], &["--adversary", "0.5"]);
    assert!(!ok && err.contains("give two corpora or more"), "{err}");
    let (ok, _, err) = train(&[&one, &two], &["--adversary", "0.5", "--backend", "flex"]);
    assert!(!ok && err.contains("--adversary runs on the CPU step only"), "{err}");
    // Accepted, it goes on to read the corpora (absent here).
    let (ok, _, err) = train(&[&one, &two], &["--adversary", "0.5"]);
    assert!(!ok && !err.contains("--adversary"), "{err}");
}

/// `--average-from` is refused in words after the last epoch or off the fused CPU step.
#[test]
fn weight_averaging_is_checked_before_the_corpora() {
    let dir = common::scratch("cli-train-average");
    let train = |args: &[&str]| {
        let mut train = Command::new(env!("CARGO_BIN_EXE_train"));
        train.args(["--corpus", "folder"]).arg(dir.join("absent")).args(["--final", "--out"]).arg(dir.join("run"));
        output(train.args(args))
    };
    let (ok, _, err) = train(&["--epochs", "3", "--average-from", "4"]);
    assert!(!ok && err.contains("--average-from 4 starts after the last epoch (--epochs 3)"), "{err}");
    let (ok, _, err) = train(&["--epochs", "3", "--average-from", "2", "--backend", "flex"]);
    assert!(!ok && err.contains("--average-from runs on the CPU step only"), "{err}");
    // Accepted, it goes on to read the corpus (absent here).
    let (ok, _, err) = train(&["--epochs", "3", "--average-from", "3"]);
    assert!(!ok && !err.contains("--average-from"), "{err}");
}

#[test]
fn per_speaker_normalisation_is_checked_before_the_corpora() {
    let dir = common::scratch("cli-train-speaker-norm");
    let train = |args: &[&str]| {
        let mut train = Command::new(env!("CARGO_BIN_EXE_train"));
        train.args(["--corpus", "folder"]).arg(dir.join("absent")).args(["--final", "--out"]).arg(dir.join("run"));
        output(train.args(args))
    };
    let (ok, _, err) = train(&["--speaker-norm", "--copies", "2", "--augment", "speed"]);
    assert!(!ok && err.contains("--speaker-norm does not yet combine with augmented copies"), "{err}");
    let (ok, _, err) = train(&["--speaker-norm", "--cmvn"]);
    assert!(!ok && err.contains("cannot be used with"), "{err}");
    // A speaker's takes only mean something to per-speaker normalisation, and there is one.
    let (ok, _, err) = train(&["--speaker-takes", "5"]);
    assert!(!ok && err.contains("--speaker-norm"), "{err}");
    let (ok, _, err) = train(&["--speaker-norm", "--speaker-takes", "0"]);
    assert!(!ok && err.contains("--speaker-takes"), "{err}");
    // Accepted, it goes on to read the corpus (absent here).
    let (ok, _, err) = train(&["--speaker-norm", "--speaker-takes", "5", "--augment", "mask"]);
    assert!(!ok && !err.contains("--speaker"), "{err}");
}

#[test]
fn a_full_disk_is_an_error_in_words() {
    let full = || std::fs::OpenOptions::new().write(true).open("/dev/full").unwrap();
    let dir = common::scratch("cli-full");
    let wav = dir.join("tone.wav");
    tone_file(&wav, 16_000, 0.05, 0.5);
    for args in [
        vec!["info"],
        vec!["predict", wav.to_str().unwrap()],
        vec!["predict", "--json", wav.to_str().unwrap()],
        vec!["mfcc", wav.to_str().unwrap()],
    ] {
        let out = Command::new(env!("CARGO_BIN_EXE_timnet")).args(&args).stdout(full()).output().unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success() && !err.contains("panicked"), "{args:?}: {err}");
        assert!(err.contains("cannot write the answer") && err.contains("No space left"), "{args:?}: {err}");
    }
}

#[test]
fn special_files_are_refused_at_once() {
    let dir = common::scratch("cli-special");
    let fifo = dir.join("pipe.wav");
    let made = Command::new("mkfifo").arg(&fifo).status().expect("mkfifo runs");
    assert!(made.success());
    let zero = dir.join("zero.wav");
    std::os::unix::fs::symlink("/dev/zero", &zero).unwrap();
    for (file, what) in [(&fifo, "a named pipe (FIFO), not a regular file"), (&zero, "a device, not a regular file")] {
        // Before the check, the pipe blocked forever and /dev/zero grew until memory ran out;
        // the test would hang rather than fail, so the time is bounded by the check itself.
        let started = std::time::Instant::now();
        let (ok, _, err) = timnet(&["predict", file.to_str().unwrap()]);
        assert!(!ok && err.contains(what), "{err}");
        assert!(started.elapsed() < std::time::Duration::from_secs(60), "{:?}", started.elapsed());
    }
    // The same for a weights directory whose sidecar is a pipe.
    std::fs::create_dir_all(dir.join("weights")).unwrap();
    let made = Command::new("mkfifo").arg(dir.join("weights/model.json")).status().expect("mkfifo runs");
    assert!(made.success());
    let (ok, _, err) = timnet(&["info", "--weights", dir.join("weights").to_str().unwrap()]);
    assert!(!ok && err.contains("a named pipe (FIFO), not a regular file"), "{err}");
}

#[test]
fn a_file_name_that_is_not_utf8_is_kept_in_json() {
    use std::os::unix::ffi::OsStrExt;
    let dir = common::scratch("cli-bytes");
    let name = std::ffi::OsStr::from_bytes(b"caf\xe9.wav");
    tone_file(&dir.join(name), 8000, 0.05, 0.5);
    for file in [dir.join(name), dir.join(std::ffi::OsStr::from_bytes(b"missing-\xff.wav"))] {
        let out = Command::new(env!("CARGO_BIN_EXE_timnet")).arg("predict").arg("--json").arg(&file).output().unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(!err.contains("panicked"), "{err}");
        let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        let bytes: Vec<u8> =
            report[0]["file"]["bytes"].as_array().unwrap().iter().map(|b| b.as_u64().unwrap() as u8).collect();
        assert_eq!(bytes, file.as_os_str().as_bytes());
    }
}

#[test]
fn eval_scores_trained_weights_and_refuses_what_it_cannot_score() {
    let root = common::scratch("cli-eval");
    synthetic_corpus(&root.join("corpus"), 12);
    let out = Command::new(env!("CARGO_BIN_EXE_train"))
        .args(["--corpus", "folder"])
        .arg(root.join("corpus"))
        .args([
            "--final",
            "--epochs",
            "30",
            "--batch-size",
            "4",
            "--tabs",
            "4",
            "--clip-samples",
            "22050",
            "--quiet",
            "--out",
        ])
        .arg(root.join("run"))
        .arg("--cache")
        .arg(root.join("cache"))
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let eval = |corpus: &Path| {
        Command::new(env!("CARGO_BIN_EXE_timnet"))
            .args(["eval", "--json", "--weights"])
            .arg(root.join("run/weights"))
            .args(["--corpus", "folder"])
            .arg(corpus)
            .output()
            .unwrap()
    };
    let out = eval(&root.join("corpus"));
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(json["items"], 36);
    assert!(json["uar"].as_f64().unwrap() >= 0.8, "{json}");
    // A corpus none of whose files can be read fails in evaluation's words, not with 0%.
    let broken = root.join("broken");
    for class in ["low", "high"] {
        std::fs::create_dir_all(broken.join(class)).unwrap();
        std::fs::write(broken.join(class).join("0.wav"), b"RIFF nonsense").unwrap();
    }
    let out = eval(&broken);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success() && err.contains("cannot evaluate: none of the 2 files"), "{err}");
}

/// `adapt-eval` adapts each fold's model to the speaker it left out; `--classes` enrols and
/// scores only the emotions asked for, where a speaker has too few utterances of the others
/// (EmoDB's speakers, of disgust).
#[test]
fn adapt_eval_measures_the_speakers_left_out_on_the_emotions_asked_for() {
    let root = common::scratch("cli-adapt-eval");
    let corpus = root.join("emodb");
    std::fs::create_dir_all(&corpus).unwrap();
    // Two speakers with four utterances each of angry (W), neutral (N) and sad (T) and one of
    // disgust (E), in EmoDB's names.
    for (s, speaker) in ["03", "08"].iter().enumerate() {
        for (e, letter) in ["W", "N", "T", "E"].iter().enumerate() {
            for v in 0..if *letter == "E" { 1 } else { 4 } {
                let f0 = 100.0 + 60.0 * e as f32 + 15.0 * s as f32 + 3.0 * v as f32;
                let take = timnet_testkit::syllables(1.0, 16_000, f0, 0.3);
                let path = corpus.join(format!("{speaker}a0{v}{letter}a.wav"));
                std::fs::write(path, timnet::audio::encode_wav(&take, 1, 16_000)).unwrap();
            }
        }
    }
    let mut train = Command::new(env!("CARGO_BIN_EXE_train"));
    train.args(["--corpus", "emodb"]).arg(&corpus).args(["--protocol", "loso", "--epochs", "3"]);
    train.args(["--batch-size", "4", "--tabs", "4", "--clip-samples", "22050", "--quiet", "--out"]);
    let (ok, _, err) = output(train.arg(root.join("run")).arg("--cache").arg(root.join("cache")));
    assert!(ok, "{err}");
    let adapt_eval = |more: &[&str]| {
        let mut command = Command::new(env!("CARGO_BIN_EXE_timnet"));
        command.args(["adapt-eval", "--k", "2", "--draws", "2", "--run"]).arg(root.join("run"));
        output(command.args(more))
    };
    // Every emotion of the model: one utterance of disgust is too few for two takes.
    let (ok, out, err) = adapt_eval(&[]);
    assert!(ok, "{err}");
    assert_eq!(out.matches("no speaker to enrol").count(), 3, "each fold and both pooled: {out}");
    // The three each speaker has four of: both speakers are enrolled and scored.
    let (ok, out, err) = adapt_eval(&["--classes", "angry,neutral,sad"]);
    assert!(ok, "{err}");
    assert_eq!(out.matches("(1 speakers of the test set").count(), 2, "{out}");
    assert!(!out.contains("no speaker to enrol"), "{out}");
    let rows: Vec<&str> = out.lines().filter(|l| l.trim_start().starts_with("2 ")).collect();
    assert_eq!(rows.len(), 3, "a row for k = 2 per fold, and one for both pooled: {out}");
    assert!(out.contains("all 2 folds (2 speakers of the test set"), "{out}");
    assert!(out.contains("k = 2, default: ") && out.contains(" of 2 speakers lose more than 2 points"), "{out}");
    // An emotion the run never had is refused in words.
    let (ok, _, err) = adapt_eval(&["--classes", "angry,calm"]);
    assert!(!ok && err.contains("calm"), "{err}");
}

#[test]
fn adapt_writes_a_personal_model_that_info_predict_and_export_read() {
    let dir = common::scratch("cli-adapt");
    let takes = dir.join("takes");
    let files = common::voice_takes(&takes, 2);
    let out = dir.join("mine");
    let (ok, text, err) =
        timnet(&["adapt", "--takes", takes.to_str().unwrap(), "--out", out.to_str().unwrap(), "--steps", "300"]);
    assert!(ok, "{err}");
    assert!(text.contains("takes: angry 2, fear 2, happy 2, neutral 2, sad 2"), "{text}");
    assert!(text.contains("% right before") && text.contains("% after"), "{text}");
    let (ok, info, err) = timnet(&["info", "--weights", out.to_str().unwrap()]);
    assert!(ok, "{err}");
    assert!(info.contains("personalised: adapted from emodb+casia+ravdess+tess+nemo+ased"), "{info}");
    assert!(info.contains("on 10 take(s) (angry 2, fear 2, happy 2, neutral 2, sad 2)"), "{info}");
    // The adapted model has learnt the takes: each gets its own emotion.
    let top = |weights: &Path, file: &Path| {
        let (ok, json, err) =
            timnet(&["predict", "--json", "--weights", weights.to_str().unwrap(), file.to_str().unwrap()]);
        assert!(ok, "{err}");
        let report: serde_json::Value = serde_json::from_str(&json).unwrap();
        (report[0]["top"].as_str().unwrap().to_string(), report[0]["analysis"]["probabilities"].clone())
    };
    let right = files.iter().filter(|(emotion, file)| top(&out, file).0 == *emotion).count();
    assert!(right >= 9, "{right} of 10 takes get their emotion");
    // Written, exported and read again, it gives the same probabilities.
    let copy = dir.join("copy");
    let (ok, _, err) = timnet(&["export", out.to_str().unwrap(), copy.to_str().unwrap()]);
    assert!(ok, "{err}");
    assert_eq!(top(&out, &files[0].1), top(&copy, &files[0].1));
    // An adapted model is not adapted again (its base is what to adapt).
    let (ok, _, err) = timnet(&[
        "adapt",
        "--weights",
        out.to_str().unwrap(),
        "--takes",
        takes.to_str().unwrap(),
        "--out",
        dir.join("again").to_str().unwrap(),
    ]);
    assert!(!ok && err.contains("already adapted"), "{err}");
}

/// A model trained with per-speaker normalisation (here the default model's record with such a
/// sidecar) learns the voice of the takes: `adapt` writes its statistics into the sidecar, `info`
/// says so, and `predict` normalises by them, without the note a recording normalised on its
/// own gets.
#[test]
fn adapt_teaches_a_per_speaker_model_the_voice_of_the_takes() {
    let dir = common::scratch("cli-adapt-voice");
    let takes = dir.join("takes");
    let files = common::voice_takes(&takes, 1);
    let model = per_speaker_model(&dir);
    let predict = |weights: &Path| {
        let (ok, json, err) =
            timnet(&["predict", "--json", "--weights", weights.to_str().unwrap(), files[0].1.to_str().unwrap()]);
        assert!(ok, "{err}");
        let report: serde_json::Value = serde_json::from_str(&json).unwrap();
        let notes = report[0]["analysis"]["notes"].to_string();
        (notes.contains("normalised on its own"), report[0]["analysis"]["probabilities"].clone())
    };
    let (info_ok, info, _) = timnet(&["info", "--weights", model.to_str().unwrap()]);
    assert!(info_ok && info.contains("voice: none taught yet"), "{info}");
    let out = dir.join("mine");
    let (takes, to) = (takes.to_str().unwrap(), out.to_str().unwrap());
    // The voice alone: no label-free centring and no fit, so only the statistics change.
    let (ok, text, err) = timnet(&[
        "adapt",
        "--weights",
        model.to_str().unwrap(),
        "--takes",
        takes,
        "--out",
        to,
        "--no-centre",
        "--steps",
        "0",
    ]);
    assert!(ok, "{err}");
    assert!(text.contains("every recording now normalised by the statistics of these 5 takes"), "{text}");
    let written: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("model.json")).unwrap()).unwrap();
    assert_eq!(written["voice"]["mean"].as_array().map(Vec::len), Some(39), "{written}");
    let (ok, info, err) = timnet(&["info", "--weights", to]);
    assert!(ok && info.contains("voice: normalised by the statistics of the takes it was taught"), "{info}{err}");
    let ((alone_noted, alone), (taught_noted, taught)) = (predict(&model), predict(&out));
    assert!(alone_noted && !taught_noted);
    assert_ne!(alone, taught, "the voice's statistics change what the model hears");
}

/// The default model's record with a per-speaker sidecar: a per-speaker model not yet taught a
/// voice, in `dir/per-speaker`.
fn per_speaker_model(dir: &Path) -> std::path::PathBuf {
    let model = dir.join("per-speaker");
    std::fs::create_dir_all(&model).unwrap();
    let shipped = common::workspace_dir().join("model-weights/mix");
    std::fs::copy(shipped.join("model.bpk"), model.join("model.bpk")).unwrap();
    let sidecar = std::fs::read_to_string(shipped.join("model.json")).unwrap();
    assert!(sidecar.contains("\"normalisation\": \"per-utterance\""));
    std::fs::write(model.join("model.json"), sidecar.replace("\"per-utterance\"", "\"per-speaker\"")).unwrap();
    model
}

/// `eval` of a per-speaker model taught a voice hears every recording as that voice's, as
/// `predict` does: its confusion matrix is `predict`'s answers on the same files, and it says so.
/// Untaught, the model is given the corpus's statistics instead.
#[test]
fn eval_of_a_taught_voice_answers_as_predict_does() {
    let dir = common::scratch("cli-eval-voice");
    let model = per_speaker_model(&dir);
    let takes = dir.join("takes");
    common::voice_takes(&takes, 1);
    let taught = dir.join("mine");
    let (ok, _, err) = timnet(&[
        "adapt",
        "--weights",
        model.to_str().unwrap(),
        "--takes",
        takes.to_str().unwrap(),
        "--out",
        taught.to_str().unwrap(),
        "--no-centre",
        "--steps",
        "0",
    ]);
    assert!(ok, "{err}");
    // Other recordings than the takes, quieter and lower: statistics of their own, so that what
    // the voice's statistics make of them differs from what their own would.
    let heard = dir.join("heard");
    let mut files = Vec::new();
    for (e, emotion) in ["angry", "fear", "happy", "neutral", "sad"].iter().enumerate() {
        std::fs::create_dir_all(heard.join(emotion)).unwrap();
        for i in 0..2 {
            let samples = common::syllables(2.0, 16_000, 70.0 + 30.0 * e as f32 + 10.0 * i as f32, 0.02);
            let file = heard.join(emotion).join(format!("{i}.wav"));
            std::fs::write(&file, encode_wav(&samples, 1, 16_000)).unwrap();
            files.push((emotion.to_string(), file));
        }
    }
    let eval = |weights: &Path| {
        let (ok, json, err) = timnet(&[
            "eval",
            "--json",
            "--weights",
            weights.to_str().unwrap(),
            "--corpus",
            "folder",
            heard.to_str().unwrap(),
        ]);
        assert!(ok, "{err}");
        serde_json::from_str::<serde_json::Value>(&json).unwrap()
    };
    let report = eval(&taught);
    assert_eq!(report["by_taught_voice"], true, "{report}");
    assert_eq!(eval(&model)["by_taught_voice"], false);

    let classes: Vec<String> = serde_json::from_value(report["classes"].clone()).unwrap();
    let mut args = vec!["predict", "--json", "--weights", taught.to_str().unwrap()];
    args.extend(files.iter().map(|(_, f)| f.to_str().unwrap()));
    let (ok, json, err) = timnet(&args);
    assert!(ok, "{err}");
    let answers: serde_json::Value = serde_json::from_str(&json).unwrap();
    let tops: Vec<&str> = answers.as_array().unwrap().iter().map(|a| a["top"].as_str().unwrap()).collect();
    let mut confusion = vec![vec![0u64; classes.len()]; classes.len()];
    for ((emotion, _), top) in files.iter().zip(&tops) {
        let at = |label: &str| classes.iter().position(|c| c == label).unwrap();
        confusion[at(emotion)][at(top)] += 1;
    }
    assert_eq!(report["confusion"], serde_json::json!(confusion), "predict: {tops:?}");
    let (ok, text, _) =
        timnet(&["eval", "--weights", taught.to_str().unwrap(), "--corpus", "folder", heard.to_str().unwrap()]);
    assert!(ok && text.contains("normalised by the statistics of the voice the model was taught"), "{text}");
}

/// Takes that contradict each other (one recording filed under two emotions): a model adapted
/// without either copy learns the other's label and gets it wrong, so the guard keeps the model
/// as it was and writes nothing; without the guard the model is adapted.
#[test]
fn the_guard_writes_nothing_where_adapting_gets_the_takes_wrong() {
    let dir = common::scratch("cli-adapt-guard");
    let (_, file) = common::voice_takes(&dir.join("voice"), 1).swap_remove(0);
    let (ok, json, err) = timnet(&["predict", "--json", file.to_str().unwrap()]);
    assert!(ok, "{err}");
    let report: serde_json::Value = serde_json::from_str(&json).unwrap();
    let heard = report[0]["top"].as_str().unwrap().to_string();
    let other = if heard == "sad" { "angry" } else { "sad" };
    let takes = dir.join("takes");
    for emotion in [heard.as_str(), other] {
        std::fs::create_dir_all(takes.join(emotion)).unwrap();
        std::fs::copy(&file, takes.join(emotion).join("take.wav")).unwrap();
    }
    let out = dir.join("mine");
    let adapt = |guard: &str| {
        timnet(&["adapt", "--takes", takes.to_str().unwrap(), "--out", out.to_str().unwrap(), "--guard", guard])
    };
    let (ok, _, err) = adapt("0");
    assert!(!ok && err.contains("50% right before, 0% after") && err.contains("nothing was written"), "{err}");
    assert!(!out.exists());
    let (ok, text, err) = adapt("off");
    assert!(ok, "{err}");
    assert!(text.contains("50% right before, 0% after") && out.join("model.json").exists(), "{text}");
}

/// `--batch-norm`: the network's BatchNorm statistics re-estimated on the takes, label-free (no
/// fit here), change what the model hears, and the sidecar says how it was adapted.
#[test]
fn adapt_with_batch_norm_renormalises_the_network_on_the_takes() {
    let dir = common::scratch("cli-adapt-batch-norm");
    let takes = dir.join("takes");
    let files = common::voice_takes(&takes, 1);
    let probabilities = |weights: Option<&Path>| {
        let mut args = vec!["predict", "--json"];
        if let Some(w) = weights {
            args.extend(["--weights", w.to_str().unwrap()]);
        }
        args.push(files[0].1.to_str().unwrap());
        let (ok, json, err) = timnet(&args);
        assert!(ok, "{err}");
        let report: serde_json::Value = serde_json::from_str(&json).unwrap();
        report[0]["analysis"]["probabilities"].clone()
    };
    let out = dir.join("renormalised");
    let adapt = |share: &str| {
        let (takes, out) = (takes.to_str().unwrap(), out.to_str().unwrap());
        timnet(&["adapt", "--takes", takes, "--out", out, "--no-centre", "--steps", "0", "--batch-norm", share])
    };
    let (ok, _, err) = adapt("1");
    assert!(ok, "{err}");
    let sidecar: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("model.json")).unwrap()).unwrap();
    assert_eq!(sidecar["personalised"]["settings"]["batch_norm"], 1.0, "{sidecar}");
    assert_ne!(probabilities(Some(&out)), probabilities(None));
    let (ok, _, err) = adapt("2");
    assert!(!ok && err.contains("--batch-norm must be 0 to 1"), "{err}");
}

#[test]
fn adapt_refuses_takes_it_cannot_use_in_words() {
    let dir = common::scratch("cli-adapt-errors");
    let adapt = |takes: &Path| {
        let (ok, _, err) =
            timnet(&["adapt", "--takes", takes.to_str().unwrap(), "--out", dir.join("out").to_str().unwrap()]);
        assert!(!ok);
        err
    };
    let one = dir.join("one");
    common::voice_takes(&one, 1);
    for emotion in ["fear", "happy", "neutral", "sad"] {
        std::fs::remove_dir_all(one.join(emotion)).unwrap();
    }
    assert!(adapt(&one).contains("takes of only one emotion (angry)"), "{}", adapt(&one));
    let unknown = dir.join("unknown");
    common::voice_takes(&unknown, 1);
    std::fs::create_dir_all(unknown.join("boredom")).unwrap();
    tone_file(&unknown.join("boredom/a.wav"), 16_000, 0.1, 0.3);
    let err = adapt(&unknown);
    assert!(err.contains("no emotion \"boredom\"") && err.contains("angry, fear, happy, neutral, sad"), "{err}");
    let broken = dir.join("broken");
    common::voice_takes(&broken, 1);
    std::fs::write(broken.join("sad/bad.wav"), b"not audio at all").unwrap();
    let err = adapt(&broken);
    assert!(err.contains("1 take(s) cannot be read") && err.contains("bad.wav"), "{err}");
    let loose = dir.join("loose");
    common::voice_takes(&loose, 1);
    tone_file(&loose.join("stray.wav"), 16_000, 0.1, 0.3);
    assert!(adapt(&loose).contains("one folder per emotion"), "{}", adapt(&loose));
    let empty = dir.join("empty");
    std::fs::create_dir_all(&empty).unwrap();
    assert!(adapt(&empty).contains("no takes"), "{}", adapt(&empty));
    let (ok, _, err) = timnet(&["adapt", "--takes", dir.join("missing").to_str().unwrap(), "--out", "x"]);
    assert!(!ok && err.contains("cannot read the takes folder"), "{err}");
    let (ok, _, err) = timnet(&["adapt", "--takes", one.to_str().unwrap(), "--out", "x", "--steps", "99999"]);
    assert!(!ok && err.contains("at most 10,000"), "{err}");
}
