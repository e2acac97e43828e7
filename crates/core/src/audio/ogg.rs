//! Ogg pages and packets, read as the decoder library reads them, for the checks that run
//! before it (tags, chained parts, the codec's name): a page counts only where its checksum
//! holds, the search for the next page resumes just past an "OggS" that was not one, and a
//! packet is joined across pages by the library's rules. A check that read the bytes any other
//! way would miss packets the library sees (found by the fuzzer: a comment packet after the
//! headers, which the library reads wherever it stands).

use std::borrow::Cow;
use std::collections::{HashMap, VecDeque};

use symphonia::core::checksum::Crc32;
use symphonia::core::io::Monitor;

/// One page whose checksum holds.
pub(super) struct Page<'a> {
    /// Where the page starts in the file.
    pub at: usize,
    pub serial: u32,
    /// The first page of a logical stream ("beginning of stream").
    pub first: bool,
    /// Its first piece continues the previous page's last packet.
    pub continued: bool,
    lacing: &'a [u8],
    body: &'a [u8],
}

impl<'a> Page<'a> {
    fn len(&self) -> usize {
        27 + self.lacing.len() + self.body.len()
    }

    /// The packets the page ends, and the piece of one it leaves open (a run of 255-byte
    /// segments at its end).
    fn pieces(&self) -> (Vec<&'a [u8]>, &'a [u8]) {
        let (mut ended, mut start, mut len) = (Vec::new(), 0, 0);
        for &segment in self.lacing {
            len += segment as usize;
            if segment < 255 {
                ended.push(&self.body[start..start + len]);
                start += len;
                len = 0;
            }
        }
        (ended, &self.body[start..])
    }
}

/// What stands at `at`, where "OggS" was found.
enum Found<'a> {
    Page(Page<'a>),
    /// Not a page: search again from here.
    Resume(usize),
    /// The file ends inside it.
    End,
}

/// A page: "OggS", version, flags (1: continued, 2: first page, 4: last page), granule (8),
/// serial (4), sequence (4), CRC (4), the number of segments, each segment's length, the body.
fn page_at(bytes: &[u8], at: usize) -> Found<'_> {
    let Some(header) = bytes.get(at..at + 27) else { return Found::End };
    if header[4] != 0 || header[5] & 0xf8 != 0 {
        // The library has read the whole header before it finds it wrong.
        return Found::Resume(at + 27);
    }
    let Some(lacing) = bytes.get(at + 27..at + 27 + header[26] as usize) else { return Found::End };
    let body_at = at + 27 + lacing.len();
    let Some(body) = bytes.get(body_at..body_at + lacing.iter().map(|&l| l as usize).sum::<usize>()) else {
        return Found::End;
    };
    let mut zeroed = [0u8; 27];
    zeroed.copy_from_slice(header);
    zeroed[22..26].fill(0);
    let mut crc = Crc32::new(0);
    [&zeroed[..], lacing, body].iter().for_each(|part| crc.process_buf_bytes(part));
    if crc.crc().to_le_bytes() != header[22..26] {
        return Found::Resume(at + 4);
    }
    Found::Page(Page {
        at,
        serial: u32::from_le_bytes([header[14], header[15], header[16], header[17]]),
        first: header[5] & 2 != 0,
        continued: header[5] & 1 != 0,
        lacing,
        body,
    })
}

/// Every page of the file, in order, past junk and damaged pages.
pub(super) fn pages(bytes: &[u8]) -> impl Iterator<Item = Page<'_>> {
    let mut from = 0;
    std::iter::from_fn(move || {
        loop {
            let at = from + bytes.get(from..)?.windows(4).position(|w| w == b"OggS")?;
            match page_at(bytes, at) {
                Found::Page(page) => {
                    from = at + page.len();
                    return Some(page);
                }
                Found::Resume(next) => from = next,
                Found::End => return None,
            }
        }
    })
}

/// One whole packet of a logical stream.
pub(super) struct Packet<'a> {
    pub serial: u32,
    /// The first packet on a stream's first page: the codec's identification header.
    pub opens_stream: bool,
    pub data: Cow<'a, [u8]>,
}

/// Every whole packet of every logical stream, in file order. As in the library, a page that
/// is not marked continued drops a stream's unfinished packet, and a continued page with none
/// unfinished drops its first piece.
pub(super) fn packets(bytes: &[u8]) -> impl Iterator<Item = Packet<'_>> {
    let mut pages = pages(bytes);
    let mut unfinished: HashMap<u32, Vec<u8>> = HashMap::new();
    let mut ready = VecDeque::new();
    std::iter::from_fn(move || {
        loop {
            if let Some(packet) = ready.pop_front() {
                return Some(packet);
            }
            let page = pages.next()?;
            let held = unfinished.entry(page.serial).or_default();
            let (ended, open) = page.pieces();
            let mut ended = ended.into_iter();
            if !page.continued {
                held.clear();
            } else if held.is_empty() {
                if ended.len() == 0 {
                    continue;
                }
                ended.next();
            }
            for (i, piece) in ended.enumerate() {
                let data = match held.is_empty() {
                    true => Cow::Borrowed(piece),
                    false => Cow::Owned([std::mem::take(held), piece.to_vec()].concat()),
                };
                ready.push_back(Packet { serial: page.serial, opens_stream: page.first && i == 0, data });
            }
            held.extend_from_slice(open);
        }
    })
}

/// The first `count` packets of the file's first logical stream (the tests read headers so).
#[cfg(test)]
pub(super) fn first_stream_packets(bytes: &[u8], count: usize) -> Vec<Cow<'_, [u8]>> {
    let mut packets = packets(bytes).peekable();
    let Some(serial) = packets.peek().map(|p| p.serial) else { return Vec::new() };
    packets.filter(|p| p.serial == serial).take(count).map(|p| p.data).collect()
}

/// One page of `serial` with `flags`, holding `packets` whole, with its checksum: for tests.
#[cfg(test)]
pub(super) fn page(flags: u8, serial: u8, packets: &[&[u8]]) -> Vec<u8> {
    let mut lacing = Vec::new();
    for packet in packets {
        lacing.extend(std::iter::repeat_n(255, packet.len() / 255));
        lacing.push((packet.len() % 255) as u8);
    }
    raw_page(flags, serial, &lacing, &packets.concat())
}

#[cfg(test)]
fn raw_page(flags: u8, serial: u8, lacing: &[u8], body: &[u8]) -> Vec<u8> {
    let mut out = [&b"OggS\0"[..], &[flags], &[0; 8], &[serial, 0, 0, 0], &[0; 8], &[lacing.len() as u8]].concat();
    out.extend_from_slice(lacing);
    out.extend_from_slice(body);
    let mut crc = Crc32::new(0);
    crc.process_buf_bytes(&out);
    out[22..26].copy_from_slice(&crc.crc().to_le_bytes());
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn all(bytes: &[u8]) -> Vec<(u32, bool, Vec<u8>)> {
        packets(bytes).map(|p| (p.serial, p.opens_stream, p.data.into_owned())).collect()
    }

    #[test]
    fn packets_are_read_past_junk_and_damaged_pages() {
        let mut damaged = page(0, 1, &[b"lost"]);
        damaged[30] ^= 1;
        let file = [page(2, 1, &[b"head"]), b"junk".to_vec(), damaged, page(0, 1, &[b"a", b"b"])].concat();
        let want = [(1, true, b"head".to_vec()), (1, false, b"a".to_vec()), (1, false, b"b".to_vec())];
        assert_eq!(all(&file), want);
        assert_eq!(first_stream_packets(&file, 2), vec![&b"head"[..], b"a"]);
    }

    #[test]
    fn a_packet_is_joined_across_pages_as_the_decoder_library_joins_it() {
        let long = vec![7u8; 300];
        let whole = page(0, 1, &[&long]);
        // The same packet left open after its first 255-byte segment, ended on a continued page.
        let first_half = raw_page(0, 1, &[255], &long[..255]);
        let second_half = page(1, 1, &[&long[255..]]);
        assert_eq!(all(&[first_half.clone(), second_half.clone()].concat()), all(&whole));
        // A continued page with nothing unfinished drops its first piece; a page not marked
        // continued drops what was unfinished.
        assert!(all(&second_half).is_empty());
        assert_eq!(all(&[first_half, page(0, 1, &[b"next"])].concat()), [(1, false, b"next".to_vec())]);
    }
}
