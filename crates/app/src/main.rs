// The wasm linker treats a binary that never calls its constructors as a one-call "command"
// and wraps every export in a call to them, so each call from JavaScript into the page (every
// event, timer and promise) re-ran every static constructor (cubecl's `inventory`
// registrations): more of the page's main-thread time than the network while it analysed a
// file. Calling them once here, first, is the documented way out (inventory's documentation).
#[cfg(target_family = "wasm")]
unsafe extern "C" {
    fn __wasm_call_ctors();
}

fn main() {
    // SAFETY: called once, before anything else runs in the module.
    #[cfg(target_family = "wasm")]
    unsafe {
        __wasm_call_ctors();
    }
    timnet_app::mount();
}
