//! The formats people drop, natively (the `formats` feature): each fixture in
//! tests/fixtures/formats (remade by make.sh there) decodes at its rate and channels to the tone
//! it was made from, and each format the program does not read is refused with the container
//! and codec named.
#![cfg(all(feature = "formats", not(target_arch = "wasm32")))]

use timnet::audio::{Decoded, decode, encode_wav, prepare, to_mono};

fn fixture(name: &str) -> Vec<u8> {
    std::fs::read(timnet_testkit::workspace_dir().join("tests/fixtures/formats").join(name)).unwrap()
}

/// The strongest frequency (10 Hz steps, 100 Hz to 3 kHz) and the RMS of `samples`.
fn tone(samples: &[f32], rate: u32) -> (u32, f32) {
    let rms = (samples.iter().map(|x| x * x).sum::<f32>() / samples.len() as f32).sqrt();
    let power = |f: u32| {
        let w = std::f32::consts::TAU * f as f32 / rate as f32;
        let (re, im) = samples
            .iter()
            .enumerate()
            .fold((0.0f32, 0.0f32), |(re, im), (i, x)| (re + x * (w * i as f32).cos(), im + x * (w * i as f32).sin()));
        re * re + im * im
    };
    let strongest = (100..3000).step_by(10).max_by(|&a, &b| power(a).total_cmp(&power(b))).unwrap();
    (strongest, rms)
}

/// The sources make.sh encodes: a sine at ffmpeg's default amplitude (1/8) halved, whose RMS is
/// 0.0625 / sqrt(2); ffmpeg spreads the stereo one over two channels at -3 dB each.
const SOURCE_RMS: f32 = 0.0442;
const STEREO_SOURCE_RMS: f32 = SOURCE_RMS * std::f32::consts::FRAC_1_SQRT_2;

/// `decoded` is `channels` at `rate`, at least `seconds` long, and its middle 0.2 s (past any
/// codec's start-up and padding) is a `hz` tone at the source's level.
fn assert_tone(name: &str, decoded: &Decoded, rate: u32, channels: usize, seconds: f32, hz: u32) {
    assert_eq!((decoded.sample_rate, decoded.channels), (rate, channels), "{name}");
    let source_frames = (seconds * rate as f32).round() as usize;
    assert!(decoded.frames() >= source_frames, "{name}: {} frames", decoded.frames());
    let mono = to_mono(&decoded.samples, decoded.channels);
    let middle = &mono[(0.05 * rate as f32) as usize..(0.25 * rate as f32) as usize];
    let (found, rms) = tone(middle, rate);
    println!("{name}: {rate} Hz, {channels} channel(s), {} frames, {found} Hz, RMS {rms:.4}", decoded.frames());
    assert_eq!(found, hz, "{name}");
    let level = if channels == 1 { SOURCE_RMS } else { STEREO_SOURCE_RMS };
    assert!((rms - level).abs() < 0.1 * level, "{name}: RMS {rms}, the source's {level}");
}

#[test]
fn aac_and_alac_in_mp4_decode() {
    assert_tone("aac.m4a", &decode(&fixture("aac.m4a")).unwrap(), 16_000, 1, 0.3, 440);
    assert_tone("alac.m4a", &decode(&fixture("alac.m4a")).unwrap(), 44_100, 2, 0.3, 660);
}

#[test]
fn ima_and_ms_adpcm_wavs_decode() {
    assert_tone("ima-adpcm.wav", &decode(&fixture("ima-adpcm.wav")).unwrap(), 16_000, 1, 0.3, 440);
    assert_tone("ms-adpcm.wav", &decode(&fixture("ms-adpcm.wav")).unwrap(), 44_100, 2, 0.3, 660);
}

#[test]
fn caf_with_pcm_and_with_alac_decodes() {
    assert_tone("pcm.caf", &decode(&fixture("pcm.caf")).unwrap(), 16_000, 1, 0.3, 440);
    // The ALAC setup as ffmpeg and Apple write it, wrapped in atoms (src/audio/alac_cookie.rs).
    assert_tone("alac.caf", &decode(&fixture("alac.caf")).unwrap(), 44_100, 2, 0.3, 660);
}

#[test]
fn rf64_wave64_and_sun_au_decode() {
    for name in ["rf64.wav", "wave64.w64", "au16.au", "mulaw.au"] {
        assert_tone(name, &decode(&fixture(name)).unwrap(), 16_000, 1, 0.3, 440);
    }
}

#[test]
fn opus_in_ogg_and_in_webm_decodes_at_48_khz() {
    assert_tone("opus.opus", &decode(&fixture("opus.opus")).unwrap(), 48_000, 1, 0.3, 440);
    assert_tone("opus.webm", &decode(&fixture("opus.webm")).unwrap(), 48_000, 2, 0.3, 660);
}

/// The second half of a joined file holds the second source's tone, 880 Hz.
fn assert_second_part_heard(name: &str, decoded: &Decoded) {
    assert!(decoded.frames() >= 9_600, "{name}: {} frames, both parts hold 9,600", decoded.frames());
    let tail = &decoded.samples[decoded.samples.len() - 4_000..decoded.samples.len() - 1_000];
    assert_eq!(tone(tail, decoded.sample_rate).0, 880, "{name}: the second part is missing");
    let head = &decoded.samples[1_000..4_000];
    assert_eq!(tone(head, decoded.sample_rate).0, 440, "{name}: the first part is missing");
    assert!(decoded.notes.is_empty(), "{name}: {:?}", decoded.notes);
}

#[test]
fn chained_ogg_streams_and_joined_mp3s_are_decoded_to_the_end() {
    assert_second_part_heard("chained.ogg", &decode(&fixture("chained.ogg")).unwrap());
    assert_second_part_heard("joined.mp3", &decode(&fixture("joined.mp3")).unwrap());
}

#[test]
fn a_chained_part_that_cannot_be_joined_on_is_named_in_the_notes() {
    // The second part cut inside its first page: it cannot be read, the first part still is.
    let chained = fixture("chained.ogg");
    let second = chained.windows(4).rposition(|w| w == b"OggS").unwrap();
    let cut = &chained[..second + 30];
    let decoded = decode(cut).unwrap();
    assert_eq!(tone(&decoded.samples[1_000..4_000], 16_000).0, 440);
    let note = decoded.notes.join(" ");
    assert!(note.contains("Only the first 1 of the 2 streams chained in this Ogg file"), "{note}");
    // And the notes reach the analysis.
    assert!(prepare(cut).unwrap().notes.iter().any(|n| n.contains("streams chained")));
}

#[test]
fn formats_not_read_are_refused_with_container_and_codec_named() {
    let refusal = |name: &str| decode(&fixture(name)).unwrap_err().to_string();
    // Its RIFF header inside must not be read as PCM.
    assert_eq!(refusal("wavpack.wv"), "WavPack audio is not supported by this program");
    assert_eq!(refusal("ac3.m4a"), "AC-3 audio in an MP4 container is not supported by this program");
}

#[test]
fn a_forty_channel_wav_decodes() {
    let frames = 8_000;
    let interleaved: Vec<f32> = (0..frames)
        .flat_map(|i| {
            let v = 0.5 * (std::f32::consts::TAU * 440.0 * i as f32 / 16_000.0).sin();
            (0..40).map(move |c| if c == 7 { v } else { 0.0 })
        })
        .collect();
    let decoded = decode(&encode_wav(&interleaved, 40, 16_000)).unwrap();
    assert_eq!((decoded.channels, decoded.sample_rate, decoded.frames()), (40, 16_000, frames));
    let channel_7: Vec<f32> = decoded.samples.iter().skip(7).step_by(40).copied().collect();
    assert_eq!(tone(&channel_7[..4_000], 16_000).0, 440);
    assert!(prepare(&encode_wav(&interleaved, 40, 16_000)).is_ok());
}

#[test]
fn a_wav_whose_data_size_was_left_zero_decodes() {
    let samples: Vec<f32> =
        (0..8_000).map(|i| 0.5 * (std::f32::consts::TAU * 440.0 * i as f32 / 16_000.0).sin()).collect();
    let mut wav = encode_wav(&samples, 1, 16_000);
    // An interrupted recorder: both sizes still 0, the samples written.
    wav[4..8].copy_from_slice(&0u32.to_le_bytes());
    wav[40..44].copy_from_slice(&0u32.to_le_bytes());
    let decoded = decode(&wav).unwrap();
    assert_eq!((decoded.channels, decoded.sample_rate, decoded.frames()), (1, 16_000, 8_000));
    assert_eq!(tone(&decoded.samples, 16_000).0, 440);
    // A data chunk that is really empty stays too short.
    let empty = encode_wav(&[], 1, 16_000);
    assert!(decode(&empty).unwrap_err().to_string().contains("too short"));
}
