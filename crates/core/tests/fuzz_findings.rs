//! Every input the fuzzers (fuzz/) ever crashed on, kept in tests/fixtures/fuzz/: each now gets
//! an error in words or an analysis whose probabilities are a distribution.
#![cfg(not(target_arch = "wasm32"))]

use timnet_testkit as common;

use burn::prelude::Device;
use timnet::analysis::{Analyzer, block_on};
use timnet::audio::prepare;

/// What preparing a kept finding (tests/fixtures/fuzz/NAME) is refused with.
fn refusal(name: &str) -> String {
    let bytes = std::fs::read(common::fixture_path(&format!("fuzz/{name}"))).unwrap();
    prepare(&bytes).unwrap_err().to_string()
}

/// Four bytes of junk, then an Ogg Vorbis file whose comment packet claims 3 GB: the decoder
/// library found the stream past the junk and allocated the claim (a 3 GB calloc, which would
/// exhaust the page's memory); the tag checks now look where the library looks.
#[test]
fn a_comment_claim_behind_junk_is_refused_before_the_decoder_library_allocates_it() {
    let error = refusal("ogg-after-junk-comment-claims-3-gb.ogg");
    assert!(error.contains("comment packet claims more bytes than the file holds"), "{error}");
}

/// An Ogg Vorbis file with junk between its first two pages, and a comment packet behind the
/// junk that claims 4 GB: the tag checks stopped at the junk, where the decoder library skips
/// on to the next page and allocates the claim.
#[test]
fn a_comment_claim_behind_junk_between_pages_is_refused() {
    let error = refusal("ogg-junk-between-pages-comment-claims-4-gb.ogg");
    assert!(error.contains("comment packet claims more bytes than the file holds"), "{error}");
}

/// An Ogg Vorbis file with a second comment packet pages after its headers, claiming 2.5 GB:
/// the decoder library reads a comment packet wherever it stands in the stream, and the tag
/// checks looked only at the headers. They now read every packet the library reads.
#[test]
fn a_comment_packet_after_the_headers_is_checked_too() {
    let error = refusal("ogg-comment-packet-after-the-headers-claims-2-gb.ogg");
    assert!(error.contains("comment packet claims more bytes than the file holds"), "{error}");
}

/// An EBML (WebM/Matroska) header whose size starts with a zero byte: the decoder library's
/// Matroska reader overflowed a shift (a panic in checked builds, the CLI's among them).
#[test]
fn a_decoder_library_panic_is_a_damaged_file() {
    let error = refusal("webm-size-with-a-zero-first-byte.webm");
    assert!(
        error.contains("the audio file is damaged") && error.contains("the decoder library failed on it"),
        "{error}"
    );
}

#[test]
fn every_input_the_fuzzers_crashed_on_gets_a_sane_answer() {
    let root = common::workspace_dir();
    let device = Device::flex();
    let analyzer = Analyzer::new(common::shipped_weights(&device), device);
    let mut files: Vec<_> =
        std::fs::read_dir(root.join("tests/fixtures/fuzz")).unwrap().flatten().map(|e| e.path()).collect();
    files.sort();
    assert!(!files.is_empty(), "the findings are kept in tests/fixtures/fuzz");
    for path in files {
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        match prepare(&std::fs::read(&path).unwrap()) {
            Err(e) => println!("{name}: refused: {e}"),
            Ok(prepared) => {
                let analysis = block_on(analyzer.analyse(&prepared)).expect("the CPU answers");
                let total: f32 = analysis.probabilities.iter().sum();
                println!("{name}: {:?}, notes {:?}", analysis.top(), analysis.notes);
                assert!(
                    analysis.probabilities.iter().all(|p| (0.0..=1.0).contains(p)),
                    "{name}: {:?}",
                    analysis.probabilities
                );
                assert!((total - 1.0).abs() < 1e-4, "{name}: probabilities sum to {total}");
            }
        }
    }
}
