//! A panic inside a third-party decoder is a damaged file, not a crash: it is caught, and the
//! panic message the standard hook would print is kept quiet for that call only.

use std::cell::Cell;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::Once;

thread_local! {
    /// Set while this thread runs guarded code.
    static GUARDED: Cell<bool> = const { Cell::new(false) };
}

static QUIET_HOOK: Once = Once::new();

/// `f`'s result, or `None` when it panicked.
pub fn catching<T>(f: impl FnOnce() -> T) -> Option<T> {
    // Installed once: every other panic still goes to the hook that was there before.
    QUIET_HOOK.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            if !GUARDED.with(Cell::get) {
                previous(info);
            }
        }));
    });
    let outer = GUARDED.with(|g| g.replace(true));
    let result = catch_unwind(AssertUnwindSafe(f));
    GUARDED.with(|g| g.set(outer));
    result.ok()
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_panic_is_caught_and_later_code_runs_on() {
        assert_eq!(super::catching(|| 7), Some(7));
        let caught: Option<u32> = super::catching(|| panic!("a decoder library failed"));
        assert_eq!(caught, None);
        assert_eq!(super::catching(|| "still here"), Some("still here"));
    }
}
