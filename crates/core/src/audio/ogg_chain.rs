//! Chained Ogg streams: files one after the other, as `cat a.ogg b.ogg` or a radio recording
//! makes them. The decoder library's Ogg reader drops the packets it still holds from one part
//! when the next part's first page arrives, so a short first part is lost whole. Each part is
//! split off here by its first page (the "beginning of stream" flag) and decoded on its own.

/// The parts of a chained Ogg file, in order; one part for an unchained file or any other file.
pub(super) fn parts(bytes: &[u8]) -> Vec<&[u8]> {
    let mut starts = vec![0];
    let mut previous_was_first = false;
    for page in super::ogg::pages(bytes) {
        // Several streams multiplexed together start with several first pages in a row.
        if page.first && page.at > 0 && !previous_was_first {
            starts.push(page.at);
        }
        previous_was_first = page.first;
    }
    starts.iter().enumerate().map(|(i, &s)| &bytes[s..starts.get(i + 1).copied().unwrap_or(bytes.len())]).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn page(flags: u8, serial: u8, body: &[u8]) -> Vec<u8> {
        super::super::ogg::page(flags, serial, &[body])
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
