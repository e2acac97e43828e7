/// Centre-pad with zeros or centre-crop to `length` samples, as the official feature code does:
/// padding puts `(L - n) / 2` zeros on the left and the rest on the right; cropping keeps the
/// window starting at `(n - L) / 2`.
pub fn fit_length(samples: &[f32], length: usize) -> Vec<f32> {
    let n = samples.len();
    if n >= length {
        let start = (n - length) / 2;
        return samples[start..start + length].to_vec();
    }
    let left = (length - n) / 2;
    let mut out = vec![0.0; length];
    out[left..left + n].copy_from_slice(samples);
    out
}

#[cfg(test)]
mod tests {
    use super::fit_length;

    #[test]
    fn pads_and_crops_around_the_centre() {
        assert_eq!(fit_length(&[1.0, 2.0], 5), vec![0.0, 1.0, 2.0, 0.0, 0.0]);
        assert_eq!(fit_length(&[1.0, 2.0, 3.0, 4.0, 5.0], 2), vec![2.0, 3.0]);
        assert_eq!(fit_length(&[1.0, 2.0, 3.0, 4.0], 3), vec![1.0, 2.0, 3.0]);
        assert_eq!(fit_length(&[7.0], 1), vec![7.0]);
        assert_eq!(fit_length(&[], 2), vec![0.0, 0.0]);
    }
}
