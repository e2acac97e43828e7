/// A 16-bit PCM WAV file of interleaved samples (clipped to [-1, 1]): for playing a recording
/// back, and for tests that need audio files.
pub fn encode_wav(samples: &[f32], channels: u16, rate: u32) -> Vec<u8> {
    let data_len = (samples.len() * 2) as u32;
    let block = channels * 2;
    let mut out = Vec::with_capacity(44 + samples.len() * 2);
    out.extend_from_slice(b"RIFF");
    out.extend_from_slice(&(36 + data_len).to_le_bytes());
    out.extend_from_slice(b"WAVEfmt ");
    out.extend_from_slice(&16u32.to_le_bytes());
    out.extend_from_slice(&1u16.to_le_bytes());
    out.extend_from_slice(&channels.to_le_bytes());
    out.extend_from_slice(&rate.to_le_bytes());
    out.extend_from_slice(&(rate * block as u32).to_le_bytes());
    out.extend_from_slice(&block.to_le_bytes());
    out.extend_from_slice(&16u16.to_le_bytes());
    out.extend_from_slice(b"data");
    out.extend_from_slice(&data_len.to_le_bytes());
    for s in samples {
        out.extend_from_slice(&((s.clamp(-1.0, 1.0) * 32767.0).round() as i16).to_le_bytes());
    }
    out
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
