use std::ops::Range;

/// Centre-pad with zeros or centre-crop to `length` samples, as the official feature code does:
/// padding puts `(L - n) / 2` zeros on the left and the rest on the right; cropping keeps the
/// window starting at `(n - L) / 2`.
pub fn fit_length(samples: &[f32], length: usize) -> Vec<f32> {
    fit_length_placed(samples, length).0
}

/// [`fit_length`], and where the recording's own samples lie in the result (the rest is padding).
pub fn fit_length_placed(samples: &[f32], length: usize) -> (Vec<f32>, Range<usize>) {
    let n = samples.len();
    if n >= length {
        let start = (n - length) / 2;
        return (samples[start..start + length].to_vec(), 0..length);
    }
    place(samples, length, (length - n) / 2)
}

/// `samples` at offset `left` in `length` zeros (the part past the end is cut), and where they lie.
pub fn place(samples: &[f32], length: usize, left: usize) -> (Vec<f32>, Range<usize>) {
    let left = left.min(length);
    let kept = samples.len().min(length - left);
    let mut out = vec![0.0; length];
    out[left..left + kept].copy_from_slice(&samples[..kept]);
    (out, left..left + kept)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pads_and_crops_around_the_centre() {
        assert_eq!(fit_length(&[1.0, 2.0], 5), vec![0.0, 1.0, 2.0, 0.0, 0.0]);
        assert_eq!(fit_length(&[1.0, 2.0, 3.0, 4.0, 5.0], 2), vec![2.0, 3.0]);
        assert_eq!(fit_length(&[1.0, 2.0, 3.0, 4.0], 3), vec![1.0, 2.0, 3.0]);
        assert_eq!(fit_length(&[7.0], 1), vec![7.0]);
        assert_eq!(fit_length(&[], 2), vec![0.0, 0.0]);
    }

    #[test]
    fn the_placement_says_where_the_recording_is() {
        assert_eq!(fit_length_placed(&[1.0, 2.0], 5).1, 1..3);
        assert_eq!(fit_length_placed(&[1.0; 9], 4).1, 0..4);
        assert_eq!(place(&[1.0, 2.0, 3.0], 4, 2), (vec![0.0, 0.0, 1.0, 2.0], 2..4));
    }
}
