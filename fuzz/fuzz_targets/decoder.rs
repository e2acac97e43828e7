//! Any bytes through the decoder and the preparation alone (no network), thousands of inputs a
//! second: decode → mono → checks → 22,050 Hz, both gathered whole and streamed packet by
//! packet. An error is a fine answer; a panic, a hang, an allocation without bound, samples
//! that are not finite, or the two paths disagreeing are findings.
#![no_main]

use libfuzzer_sys::fuzz_target;
use timnet::audio::{AudioError, Preparer, decode_with, prepare};

#[path = "ogg.rs"]
mod ogg;

fuzz_target!(|bytes: &[u8]| {
    let bytes = ogg::with_checksums(bytes);
    let whole = prepare(&bytes);
    // The same, one packet at a time, keeping only a count and a running sum.
    let mut preparer: Option<Preparer> = None;
    let (mut out, mut count, mut sum) = (Vec::new(), 0usize, 0f64);
    let streamed = decode_with(&bytes, |chunk, channels, rate| {
        assert!(channels > 0 && rate > 0, "a packet of {channels} channels at {rate} Hz");
        Preparer::feed(&mut preparer, chunk, channels, rate, &mut out)?;
        count += out.len();
        sum += out.iter().map(|&s| s as f64).sum::<f64>();
        out.clear();
        Ok::<_, AudioError>(())
    })
    .and_then(|read| {
        let mut tail = preparer.ok_or(AudioError::TooShort { samples: 0 })?.finish(Vec::new())?;
        tail.notes.extend(read);
        Ok(tail)
    });
    match (whole, streamed) {
        (Ok(whole), Ok(tail)) => {
            assert!(whole.samples.iter().all(|s| s.is_finite()), "samples that are not finite");
            count += tail.samples.len();
            sum += tail.samples.iter().map(|&s| s as f64).sum::<f64>();
            assert_eq!(count, whole.samples.len(), "streamed and whole lengths differ");
            let whole_sum: f64 = whole.samples.iter().map(|&s| s as f64).sum();
            assert!((sum - whole_sum).abs() <= 1e-6 * (1.0 + whole_sum.abs()), "sums {sum} and {whole_sum}");
            assert_eq!(tail.notes, whole.notes);
        }
        (Err(a), Err(b)) => assert_eq!(a.to_string(), b.to_string()),
        (a, b) => panic!("whole {:?} but streamed {:?}", a.map(|p| p.samples.len()), b.map(|p| p.samples.len())),
    }
});
