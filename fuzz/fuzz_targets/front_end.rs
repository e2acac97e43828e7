//! Any bytes down the path a dropped file takes: decode → mono → 22,050 Hz → clip windows →
//! MFCC → network, with the shipped weights. An error is a fine answer (it is how broken input
//! is refused); a panic, a hang, or probabilities that are not a distribution are findings.
#![no_main]

use libfuzzer_sys::fuzz_target;
use timnet::analysis::{Analyzer, block_on};
use timnet::audio::prepare;
use timnet::burn::prelude::Device;
use timnet::weights::Weights;

const SIDECAR: &str = include_str!("../../model-weights/emodb/model.json");
const RECORD: &[u8] = include_bytes!("../../model-weights/emodb/model.bpk");

thread_local! {
    static ANALYZER: Analyzer = {
        let device = Device::flex();
        Analyzer::new(Weights::from_bytes(SIDECAR, RECORD, &device).expect("the shipped weights load"), device)
    };
}

fuzz_target!(|bytes: &[u8]| {
    let bytes = with_ogg_checksums(bytes);
    let Ok(prepared) = prepare(&bytes) else { return };
    let analysis = ANALYZER.with(|a| block_on(a.analyse(&prepared))).expect("the CPU device always answers");
    let sum: f32 = analysis.probabilities.iter().sum();
    assert!(analysis.probabilities.iter().all(|p| (0.0..=1.0).contains(p)), "{:?}", analysis.probabilities);
    assert!((sum - 1.0).abs() < 1e-3, "probabilities sum to {sum}");
});

/// The input with every Ogg page's checksum made right. The decoder library drops a page whose
/// CRC is wrong, so without this nearly every mutation of an Ogg file stops at the container and
/// the Vorbis and FLAC decoders behind it are never reached.
fn with_ogg_checksums(bytes: &[u8]) -> Vec<u8> {
    let mut bytes = bytes.to_vec();
    let mut at = 0;
    while let Some(found) = bytes[at..].windows(4).position(|w| w == b"OggS") {
        let page = at + found;
        let Some(&segments) = bytes.get(page + 26) else { break };
        let lacing = page + 27;
        let Some(body) = bytes.get(lacing..lacing + segments as usize) else { break };
        let end = (lacing + segments as usize + body.iter().map(|&l| l as usize).sum::<usize>()).min(bytes.len());
        bytes[page + 22..page + 26].fill(0);
        let crc = ogg_crc(&bytes[page..end]);
        bytes[page + 22..page + 26].copy_from_slice(&crc.to_le_bytes());
        at = end.max(page + 1);
    }
    bytes
}

/// Ogg's CRC-32: polynomial 0x04c11db7, most significant bit first, no reflection or final xor.
fn ogg_crc(bytes: &[u8]) -> u32 {
    bytes.iter().fold(0u32, |crc, &b| {
        (0..8).fold(crc ^ (u32::from(b) << 24), |c, _| if c & 0x8000_0000 != 0 { (c << 1) ^ 0x04c1_1db7 } else { c << 1 })
    })
}
