//! ALAC's setup ("magic cookie") as Apple's CAF files and ffmpeg write it: wrapped in QuickTime
//! atoms (`frma`, then `alac` with version and flags) ahead of the 24-byte ALACSpecificConfig.
//! The decoder library takes only the bare config (24 bytes, or 48 with a channel layout) and
//! refuses the wrapped one as "not compatible with alac version 0"; Apple's ALAC reference
//! decoder skips the atoms, and so does this.

use symphonia::core::codecs::{CODEC_TYPE_ALAC, CodecParameters};

/// `params` with a wrapped ALAC cookie replaced by the config inside it.
pub(super) fn unwrapped(params: &CodecParameters) -> CodecParameters {
    let mut params = params.clone();
    if params.codec == CODEC_TYPE_ALAC
        && let Some(config) = params.extra_data.as_deref().and_then(config_in_atoms)
    {
        params.extra_data = Some(config.into());
    }
    params
}

/// The 24-byte config in the `alac` atom, after its size, type, version and flags; `None` for a
/// bare config, which starts with a frame length rather than an atom.
fn config_in_atoms(cookie: &[u8]) -> Option<&[u8]> {
    if !matches!(cookie.get(4..8), Some(b"frma" | b"alac")) {
        return None;
    }
    let mut at = 0usize;
    while let Some(header) = cookie.get(at..at + 8) {
        let size = u32::from_be_bytes([header[0], header[1], header[2], header[3]]) as usize;
        if &header[4..8] == b"alac" {
            return cookie.get(at + 12..at + 12 + 24);
        }
        at = at.checked_add(size.max(8))?;
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_wrapped_cookie_gives_the_config_inside() {
        let config: Vec<u8> = (0..24).collect();
        let wrapped = [&b"\0\0\0\x0cfrmaalac\0\0\0\x24alac\0\0\0\0"[..], &config].concat();
        assert_eq!(config_in_atoms(&wrapped), Some(&config[..]));
        assert_eq!(config_in_atoms(&config), None);
    }
}
