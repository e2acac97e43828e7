/// A 16-bit PCM WAV file of interleaved samples (clipped to [-1, 1]): for playing a recording
/// back, and for tests that need audio files. Written by hound.
pub fn encode_wav(samples: &[f32], channels: u16, rate: u32) -> Vec<u8> {
    let spec =
        hound::WavSpec { channels, sample_rate: rate, bits_per_sample: 16, sample_format: hound::SampleFormat::Int };
    let mut bytes = std::io::Cursor::new(Vec::with_capacity(44 + samples.len() * 2));
    // Writing into memory fails only for more than 4 GiB of data, which WAV cannot hold; the
    // caller then gets the header and what fitted.
    if let Ok(mut writer) = hound::WavWriter::new(&mut bytes, spec) {
        for s in samples {
            if writer.write_sample((s.clamp(-1.0, 1.0) * 32767.0).round() as i16).is_err() {
                break;
            }
        }
        let _ = writer.finalize();
    }
    bytes.into_inner()
}

#[cfg(test)]
mod tests {
    #[test]
    fn encoded_wav_decodes_to_the_same_samples() {
        let samples = [0.0, 0.5, -0.5, 1.0, -1.0, 0.25];
        let decoded = super::super::decode(&super::encode_wav(&samples, 2, 8000)).unwrap();
        assert_eq!((decoded.channels, decoded.sample_rate), (2, 8000));
        for (a, b) in decoded.samples.iter().zip(samples) {
            assert!((a - b).abs() < 1.0 / 32767.0, "{a} vs {b}");
        }
    }
}
