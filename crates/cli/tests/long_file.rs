//! A long recording is analysed in memory bounded by its windows, not by its length: three
//! hours of 8 kHz speech-like audio through `timnet predict`, with the peak printed. A test
//! file of its own, so that the peak the operating system reports is this one child's.

use std::io::Write;
use std::process::Command;

/// The bound the analysis keeps to (docs/reliability.md).
const PEAK_MIB: i64 = 512;

#[test]
fn three_hours_at_8_khz_are_analysed_within_512_mib() {
    let dir = timnet_testkit::scratch("cli-long-file");
    let path = dir.join("three-hours.wav");
    let rate = 8_000u32;
    let frames = 3 * 3600 * rate as usize;
    write_long_wav(&path, rate, frames);
    let out = Command::new(env!("CARGO_BIN_EXE_timnet")).arg("predict").arg(&path).output().expect("timnet runs");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(text.contains("over 10800.00 s"), "{text}");
    let peak_mib = children_peak_kib() / 1024;
    let file_mib = std::fs::metadata(&path).unwrap().len() / (1 << 20);
    println!("3 h at 8 kHz ({file_mib} MiB file): peak resident memory {peak_mib} MiB (bound {PEAK_MIB} MiB)");
    println!("{}", text.lines().next().unwrap_or_default());
    assert!(peak_mib <= PEAK_MIB, "peak {peak_mib} MiB");
    std::fs::remove_dir_all(&dir).unwrap();
}

/// A 16-bit mono WAV of `frames` samples, written a second at a time (the file never whole in
/// memory): a harmonic tone whose pitch and level wander, so that no two windows are alike.
fn write_long_wav(path: &std::path::Path, rate: u32, frames: usize) {
    let mut file = std::io::BufWriter::new(std::fs::File::create(path).unwrap());
    let header = timnet_testkit::hostile::wav_header(1, 1, rate, 16, (frames * 2) as u32);
    file.write_all(&header).unwrap();
    let mut phase = 0.0f64;
    let mut second = Vec::with_capacity(rate as usize * 2);
    for start in (0..frames).step_by(rate as usize) {
        second.clear();
        for i in start..(start + rate as usize).min(frames) {
            let t = i as f64 / rate as f64;
            let f0 = 140.0 + 60.0 * (0.31 * t).sin();
            phase += std::f64::consts::TAU * f0 / rate as f64;
            let level = 0.3 * (0.6 + 0.4 * (0.9 * t).sin());
            let v = level * (phase.sin() + 0.5 * (2.0 * phase).sin() + 0.25 * (3.0 * phase).sin()) / 1.75;
            second.extend_from_slice(&((v * 32_767.0) as i16).to_le_bytes());
        }
        file.write_all(&second).unwrap();
    }
    file.flush().unwrap();
}

/// The largest resident size of any child this process has waited for, in KiB.
fn children_peak_kib() -> i64 {
    let mut usage = std::mem::MaybeUninit::<libc::rusage>::zeroed();
    // SAFETY: getrusage fills the struct it is given; RUSAGE_CHILDREN is always valid.
    let usage = unsafe {
        assert_eq!(libc::getrusage(libc::RUSAGE_CHILDREN, usage.as_mut_ptr()), 0);
        usage.assume_init()
    };
    usage.ru_maxrss
}
