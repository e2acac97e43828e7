//! What the two command-line programs share.

/// End quietly when standard output is a closed pipe (`timnet predict a.wav | head -1`), as Unix
/// tools do: Rust ignores SIGPIPE, so the next print would panic instead.
pub fn end_quietly_on_closed_pipe() {
    #[cfg(unix)]
    // SAFETY: restores a signal's default disposition; called first in main, before any other
    // thread exists.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
}
