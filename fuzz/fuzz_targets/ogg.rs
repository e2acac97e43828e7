//! Ogg pages with their checksums made right, shared by the audio targets.

/// The input with every Ogg page's checksum made right. The decoder library drops a page whose
/// CRC is wrong, so without this nearly every mutation of an Ogg file stops at the container and
/// the Vorbis and FLAC decoders behind it are never reached.
pub fn with_checksums(bytes: &[u8]) -> Vec<u8> {
    let mut bytes = bytes.to_vec();
    let mut at = 0;
    while let Some(found) = bytes[at..].windows(4).position(|w| w == b"OggS") {
        let page = at + found;
        let Some(&segments) = bytes.get(page + 26) else { break };
        let lacing = page + 27;
        let Some(body) = bytes.get(lacing..lacing + segments as usize) else { break };
        let end = (lacing + segments as usize + body.iter().map(|&l| l as usize).sum::<usize>()).min(bytes.len());
        bytes[page + 22..page + 26].fill(0);
        let crc = crc(&bytes[page..end]);
        bytes[page + 22..page + 26].copy_from_slice(&crc.to_le_bytes());
        at = end.max(page + 1);
    }
    bytes
}

/// Ogg's CRC-32: polynomial 0x04c11db7, most significant bit first, no reflection or final xor.
fn crc(bytes: &[u8]) -> u32 {
    bytes.iter().fold(0u32, |crc, &b| {
        (0..8).fold(crc ^ (u32::from(b) << 24), |c, _| if c & 0x8000_0000 != 0 { (c << 1) ^ 0x04c1_1db7 } else { c << 1 })
    })
}
