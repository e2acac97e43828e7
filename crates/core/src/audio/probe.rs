//! The decoder library's probe: the container readers this build decodes, and an ID3v2 reader
//! that skips a tag instead of reading it.
//!
//! symphonia's default probe reads ID3v2 text frames with encoding_rs, whose decoder reaches
//! every legacy encoding and so brings their tables into the page: about 200 KB gzip'd of its
//! 3 MB budget, for tags the network never reads. A leading tag is skipped before the library
//! sees the file ([`super::tags`]); this skips one the probe meets further on, e.g. a second.

use std::sync::OnceLock;

use symphonia::core::errors::Result;
use symphonia::core::io::{MediaSourceStream, ReadBytes};
use symphonia::core::meta::{MetadataOptions, MetadataReader, MetadataRevision};
use symphonia::core::probe::{Descriptor, Instantiate, Probe, QueryDescriptor};
use symphonia::core::support_metadata;
use symphonia::default::formats;

/// The probe, made once.
pub(super) fn probe() -> &'static Probe {
    static PROBE: OnceLock<Probe> = OnceLock::new();
    PROBE.get_or_init(|| {
        let mut probe = Probe::default();
        probe.register_all::<formats::FlacReader>();
        probe.register_all::<formats::MpaReader>();
        probe.register_all::<formats::AiffReader>();
        probe.register_all::<formats::WavReader>();
        probe.register_all::<formats::OggReader>();
        #[cfg(feature = "formats")]
        {
            probe.register_all::<formats::AdtsReader>();
            probe.register_all::<formats::CafReader>();
            probe.register_all::<formats::IsoMp4Reader>();
            probe.register_all::<formats::MkvReader>();
        }
        probe.register_all::<SkipId3v2>();
        probe
    })
}

/// Reads an ID3v2 tag's header and skips the tag, footer included.
struct SkipId3v2;

impl QueryDescriptor for SkipId3v2 {
    fn query() -> &'static [Descriptor] {
        &[support_metadata!("id3v2", "ID3v2, skipped", &[], &[], &[b"ID3"])]
    }

    fn score(_context: &[u8]) -> u8 {
        255
    }
}

impl MetadataReader for SkipId3v2 {
    fn new(_options: &MetadataOptions) -> Self {
        SkipId3v2
    }

    fn read_all(&mut self, reader: &mut MediaSourceStream) -> Result<MetadataRevision> {
        let mut header = [0u8; 10];
        reader.read_buf_exact(&mut header)?;
        reader.ignore_bytes(super::tags::id3v2_length(&header) as u64 - header.len() as u64)?;
        Ok(MetadataRevision::default())
    }
}

#[cfg(test)]
mod tests {
    use crate::audio::decode;

    /// An ID3v2.4 tag holding `payload`, without a footer.
    fn tag(payload: &[u8]) -> Vec<u8> {
        let n = payload.len();
        let size = [21, 14, 7, 0].map(|shift| (n >> shift) as u8 & 0x7f);
        [b"ID3".as_slice(), &[4, 0, 0], &size, payload].concat()
    }

    #[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
    #[cfg_attr(not(target_arch = "wasm32"), test)]
    fn a_second_id3v2_tag_is_skipped_whole_even_where_it_holds_audio_frames() {
        let mp3 = include_bytes!("../../../../tests/fixtures/tone_16000.mp3");
        // Bytes in a tag that read as MPEG frames (here, real ones): read as audio, they would
        // come before the file's own.
        let picture = mp3[..1_000].to_vec();
        let tagged = [tag(b"first tag"), tag(&picture), mp3.to_vec()].concat();
        let (plain, read) = (decode(mp3).unwrap(), decode(&tagged).unwrap());
        assert_eq!((read.channels, read.sample_rate), (plain.channels, plain.sample_rate));
        assert!(read.samples == plain.samples, "{} samples, not {}", read.samples.len(), plain.samples.len());
    }
}
