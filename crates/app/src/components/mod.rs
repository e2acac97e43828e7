//! The page's components. [`App`] lays out the page and provides the contexts of
//! [`crate::state`]; each component takes the ones it uses.

mod app;
mod charts;
mod detail;
mod input;
mod teach;

pub use app::App;
