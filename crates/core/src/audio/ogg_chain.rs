//! Chained Ogg streams: files one after the other, as `cat a.ogg b.ogg` or a radio recording
//! makes them. The decoder library's Ogg reader drops the packets it still holds from one part
//! when the next part's first page arrives, so a short first part is lost whole. Each part is
//! split off here by its first page (the "beginning of stream" flag) and decoded on its own.

/// The parts of a chained Ogg file, in order; one part for an unchained file or any other file.
pub(super) fn parts(bytes: &[u8]) -> Vec<&[u8]> {
    let mut starts = vec![0];
    let mut at = 0;
    let mut previous_was_first = false;
    // A page: "OggS", version, flags (2: first page of a stream), granule (8), serial (4),
    // sequence (4), CRC (4), the number of segments, then each segment's length.
    while let Some(header) = bytes.get(at..at + 27).filter(|h| h.starts_with(b"OggS")) {
        let Some(lacing) = bytes.get(at + 27..at + 27 + header[26] as usize) else { break };
        let first = header[5] & 2 != 0;
        // Several streams multiplexed together start with several first pages in a row.
        if first && at > 0 && !previous_was_first {
            starts.push(at);
        }
        previous_was_first = first;
        at += 27 + lacing.len() + lacing.iter().map(|&l| l as usize).sum::<usize>();
    }
    starts.iter().enumerate().map(|(i, &s)| &bytes[s..starts.get(i + 1).copied().unwrap_or(bytes.len())]).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn page(flags: u8, serial: u8, body: &[u8]) -> Vec<u8> {
        let mut out = vec![b'O', b'g', b'g', b'S', 0, flags];
        out.extend_from_slice(&[0; 8]);
        out.extend_from_slice(&[serial, 0, 0, 0]);
        out.extend_from_slice(&[0; 8]);
        out.push(1);
        out.push(body.len() as u8);
        out.extend_from_slice(body);
        out
    }

    #[test]
    fn each_chained_part_starts_at_its_first_page() {
        let one = [page(2, 1, b"head"), page(0, 1, b"audio"), page(4, 1, b"end")].concat();
        let two = [page(2, 2, b"head"), page(4, 2, b"audio")].concat();
        let chained = [one.clone(), two.clone()].concat();
        assert_eq!(parts(&chained), vec![&one[..], &two[..]]);
        assert_eq!(parts(&one), vec![&one[..]]);
        // Two streams multiplexed (first pages in a row) are one part.
        let muxed = [page(2, 1, b"a"), page(2, 2, b"b"), page(0, 1, b"c")].concat();
        assert_eq!(parts(&muxed).len(), 1);
        assert_eq!(parts(b"RIFF"), vec![&b"RIFF"[..]]);
    }
}
