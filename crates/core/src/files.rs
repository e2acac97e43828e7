//! Reading a user's files without surprises: only regular files, and never more than a stated
//! size. A FIFO named `.wav` would block forever, and a link to `/dev/zero` would grow until
//! memory runs out; both are refused at once, in words.

use std::fs::File;
use std::io::{self, Read};
use std::path::Path;

/// The largest audio file read whole: a few hours of 16-bit speech, beyond any recording a
/// person means to analyse in one go.
pub const MAX_AUDIO_BYTES: u64 = 1 << 30;
/// The largest weights file: the shipped records are a few hundred kilobytes.
pub const MAX_WEIGHTS_BYTES: u64 = 256 << 20;

/// The whole of `path`, if it is a regular file (or a link to one) of at most `most` bytes.
pub fn read_regular(path: &Path, most: u64) -> io::Result<Vec<u8>> {
    // Checked before opening: opening a FIFO for reading blocks until a writer comes.
    check(&std::fs::metadata(path)?, most)?;
    let file = File::open(path)?;
    // And again on what was opened, in case the path was swapped in between.
    let metadata = file.metadata()?;
    check(&metadata, most)?;
    let mut bytes = Vec::with_capacity(metadata.len() as usize);
    // One byte past the bound tells a file that grew since from one that fits.
    file.take(most + 1).read_to_end(&mut bytes)?;
    if bytes.len() as u64 > most {
        return Err(too_large(most));
    }
    Ok(bytes)
}

fn check(metadata: &std::fs::Metadata, most: u64) -> io::Result<()> {
    if !metadata.is_file() {
        let what = kind(&metadata.file_type());
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("{what}, not a regular file; only files are read"),
        ));
    }
    if metadata.len() > most {
        return Err(too_large(most));
    }
    Ok(())
}

fn too_large(most: u64) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidInput, format!("larger than {} MiB, the most this program reads", most >> 20))
}

/// What a file that is not a regular file is, in a person's words.
fn kind(file_type: &std::fs::FileType) -> &'static str {
    #[cfg(unix)]
    {
        use std::os::unix::fs::FileTypeExt;
        if file_type.is_fifo() {
            return "a named pipe (FIFO)";
        }
        if file_type.is_char_device() || file_type.is_block_device() {
            return "a device";
        }
        if file_type.is_socket() {
            return "a socket";
        }
    }
    if file_type.is_dir() { "a directory" } else { "a special file" }
}

#[cfg(all(test, unix))]
mod tests {
    use super::*;

    #[test]
    fn regular_files_are_read_and_others_refused_at_once() {
        let dir = std::env::temp_dir().join(format!("timnet-files-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("a.wav");
        std::fs::write(&file, b"RIFF1234").unwrap();
        assert_eq!(read_regular(&file, 100).unwrap(), b"RIFF1234");
        let big = read_regular(&file, 4).unwrap_err();
        assert!(big.to_string().contains("larger than 0 MiB"), "{big}");

        let zero = read_regular(Path::new("/dev/zero"), MAX_AUDIO_BYTES).unwrap_err();
        assert_eq!(zero.to_string(), "a device, not a regular file; only files are read");
        let link = dir.join("zero.wav");
        let _ = std::fs::remove_file(&link);
        std::os::unix::fs::symlink("/dev/zero", &link).unwrap();
        assert!(read_regular(&link, MAX_AUDIO_BYTES).unwrap_err().to_string().starts_with("a device"));
        let directory = read_regular(&dir, MAX_AUDIO_BYTES).unwrap_err();
        assert!(directory.to_string().starts_with("a directory"), "{directory}");
        let missing = read_regular(&dir.join("missing.wav"), MAX_AUDIO_BYTES).unwrap_err();
        assert_eq!(missing.kind(), io::ErrorKind::NotFound);
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
