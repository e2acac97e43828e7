//! An Ogg Vorbis setup header's codebooks, checked before the decoder library reads them.
//!
//! symphonia 0.5 trusts two of a codebook's numbers. Its vector lookup table takes
//! entries x dimensions floats, allocated before anything is read: up to 2^40 from a few bytes
//! of file (16 Ki TiB), which neither the CLI nor a page survives. And for lookup type 1 it
//! asserts that an f32 root of the entry count is exact, which panics for a book of no
//! dimensions, of 32 or more, or whose count lands just under a power. Real encoders write books
//! of a few thousand values with 8 dimensions at most; such files pass untouched.

use super::AudioError;

/// Lookup-table values in all of a file's codebooks together: 64 MiB of f32.
const MAX_LOOKUP_VALUES: u64 = 1 << 24;

const CODEBOOK_SYNC: u32 = 0x56_43_42;

/// `setup` is the setup packet after its "\x05vorbis" signature. A packet the decoder library
/// would stop reading on its own (a lost sync, a cut) is left to it.
pub(super) fn check_codebooks(setup: &[u8]) -> Result<(), AudioError> {
    lookup_values(setup).map(|_| ())
}

/// The lookup-table values of all the codebooks, or `None` where the decoder library would stop
/// reading them with an error of its own.
fn lookup_values(setup: &[u8]) -> Result<Option<u64>, AudioError> {
    let mut bits = Bits { bytes: setup, at: 0 };
    let Some(count) = bits.read(8) else { return Ok(None) };
    let mut values = 0u64;
    for _ in 0..=count {
        match codebook_values(&mut bits) {
            Ok(Some(n)) => values += n,
            Ok(None) => return Ok(None),
            Err(what) => return Err(AudioError::Corrupt(format!("a Vorbis codebook {what}"))),
        }
        if values > MAX_LOOKUP_VALUES {
            return Err(AudioError::Corrupt(format!(
                "its Vorbis codebooks ask for {values} lookup values; real ones hold a few thousand"
            )));
        }
    }
    Ok(Some(values))
}

/// Reads one codebook as the decoder library does, returning the values its lookup table will
/// hold: `Ok(None)` where the library would stop with an error of its own, `Err` where it would
/// panic.
fn codebook_values(bits: &mut Bits) -> Result<Option<u64>, &'static str> {
    let Some((dimensions, entries)) = codebook_header(bits) else { return Ok(None) };
    if skip_codeword_lengths(bits, entries).is_none() {
        return Ok(None);
    }
    let Some(lookup_type) = bits.read(4) else { return Ok(None) };
    let lookup_values = match lookup_type {
        0 => return Ok(Some(0)),
        1 | 2 if dimensions == 0 => return Err("has no dimensions"),
        1 => lookup1_values(entries, dimensions).ok_or("has an entry count with no exact root")?,
        2 => entries as u64 * dimensions as u64,
        _ => return Ok(None),
    };
    // The minimum and the delta (32 bits each), the bits per value, the sequence flag, values.
    let Some(value_bits) = bits.skip(64).and_then(|_| bits.read(4)) else { return Ok(None) };
    if bits.skip(1 + lookup_values.saturating_mul(value_bits as u64 + 1)).is_none() {
        return Ok(None);
    }
    Ok(Some(entries as u64 * dimensions as u64))
}

/// The sync pattern, then the dimensions and the entry count.
fn codebook_header(bits: &mut Bits) -> Option<(u32, u32)> {
    (bits.read(24)? == CODEBOOK_SYNC).then_some(())?;
    Some((bits.read(16)?, bits.read(24)?))
}

/// Each entry's codeword length: packed one by one (5 bits each, or a used flag first when the
/// list is sparse), or as runs of increasing length when the list is ordered.
fn skip_codeword_lengths(bits: &mut Bits, entries: u32) -> Option<()> {
    if bits.read(1)? == 0 {
        if bits.read(1)? == 0 {
            return bits.skip(5 * entries as u64);
        }
        for _ in 0..entries {
            if bits.read(1)? == 1 {
                bits.skip(5)?;
            }
        }
        return Some(());
    }
    bits.skip(5)?;
    let mut entry = 0;
    while entry < entries {
        entry += bits.read(32 - (entries - entry).leading_zeros())?;
    }
    (entry == entries).then_some(())
}

/// The decoder library's `lookup1_values`, or `None` where its checks would panic: the largest
/// `v` with `v^dimensions <= entries`, from an f32 root as the library computes it.
fn lookup1_values(entries: u32, dimensions: u32) -> Option<u64> {
    let value = (entries as f32).powf(1.0 / dimensions as f32).floor() as u32;
    let fits = value.checked_pow(dimensions)? <= entries;
    let next_exceeds = value.checked_add(1)?.checked_pow(dimensions)? > entries;
    (fits && next_exceeds).then_some(value as u64)
}

/// Vorbis packs its fields from each byte's least significant bit up.
struct Bits<'a> {
    bytes: &'a [u8],
    at: u64,
}

impl Bits<'_> {
    fn read(&mut self, n: u32) -> Option<u32> {
        let mut value = 0u32;
        for i in 0..n {
            let byte = *self.bytes.get(usize::try_from(self.at / 8).ok()?)?;
            value |= u32::from((byte >> (self.at % 8)) & 1) << i;
            self.at += 1;
        }
        Some(value)
    }

    fn skip(&mut self, n: u64) -> Option<()> {
        self.at = self.at.checked_add(n).filter(|&at| at <= self.bytes.len() as u64 * 8)?;
        Some(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Writes fields least significant bit first, as Vorbis packs them.
    #[derive(Default)]
    struct Writer {
        bytes: Vec<u8>,
        at: usize,
    }

    impl Writer {
        fn put(mut self, value: u64, n: u32) -> Self {
            for i in 0..n {
                if self.at.is_multiple_of(8) {
                    self.bytes.push(0);
                }
                self.bytes[self.at / 8] |= (((value >> i) & 1) as u8) << (self.at % 8);
                self.at += 1;
            }
            self
        }
    }

    /// A setup packet with one codebook: ordered lengths (all entries one run), the given lookup
    /// type, and as many 1-bit lookup values as that type reads.
    fn setup(dimensions: u64, entries: u64, lookup_type: u64, lookup_values: u64) -> Vec<u8> {
        let run_bits = 64 - entries.leading_zeros();
        let mut w = Writer::default().put(0, 8).put(CODEBOOK_SYNC as u64, 24).put(dimensions, 16).put(entries, 24);
        w = w.put(1, 1).put(0, 5).put(entries, run_bits).put(lookup_type, 4);
        if lookup_type != 0 {
            w = w.put(0, 64).put(0, 4).put(0, 1);
            for _ in 0..lookup_values {
                w = w.put(1, 1);
            }
        }
        w.bytes
    }

    #[test]
    fn a_real_encoders_codebooks_are_read_to_the_end() {
        let ogg = include_bytes!("../../../../fuzz/seeds/front_end/tone_22k.ogg");
        let packets = super::super::ogg::first_stream_packets(ogg, 3);
        let setup = packets[2].strip_prefix(b"\x05vorbis").expect("the third header is the setup");
        let values = lookup_values(setup).unwrap().expect("every codebook read");
        println!("libvorbis's codebooks: {values} lookup values");
        assert!((1..=MAX_LOOKUP_VALUES / 64).contains(&values), "{values}");
    }

    #[test]
    fn ordinary_codebooks_pass() {
        assert_eq!(check_codebooks(&setup(2, 81, 1, 9)), Ok(()));
        assert_eq!(check_codebooks(&setup(4, 625, 1, 5)), Ok(()));
        assert_eq!(check_codebooks(&setup(8, 4096, 2, 8 * 4096)), Ok(()));
        assert_eq!(check_codebooks(&setup(1, 256, 0, 0)), Ok(()));
    }

    #[test]
    fn codebooks_the_library_would_panic_or_run_out_of_memory_on_are_refused() {
        let refused = |packet: Vec<u8>, words: &str| {
            let e = check_codebooks(&packet).unwrap_err().to_string();
            assert!(e.contains(words), "{e}");
        };
        refused(setup(0, 2, 1, 0), "no dimensions");
        refused(setup(0, 2, 2, 0), "no dimensions");
        // 2^32 overflows: the library's check panics.
        refused(setup(32, 5, 1, 1), "no exact root");
        // 31 dimensions of 2^24 - 1 entries: 2 GiB of lookup table from one lookup value.
        refused(setup(31, (1 << 24) - 1, 1, 1), "ask for 520093665 lookup values");
    }

    #[test]
    fn lookup1_matches_the_definition() {
        for (entries, dimensions, value) in [(81, 2, 9), (80, 2, 8), (1, 5, 1), (0, 3, 0), (1000, 3, 10), (4096, 8, 2)]
        {
            assert_eq!(lookup1_values(entries, dimensions), Some(value), "{entries}, {dimensions}");
        }
    }

    #[test]
    fn cut_or_unsynchronised_packets_are_left_to_the_decoder() {
        let packet = setup(2, 81, 1, 9);
        for cut in 0..packet.len() {
            assert_eq!(check_codebooks(&packet[..cut]), Ok(()), "cut at {cut}");
        }
        let mut lost = packet.clone();
        lost[1] ^= 0xff;
        assert_eq!(check_codebooks(&lost), Ok(()));
    }
}
