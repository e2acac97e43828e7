//! The page's components. State lives in [`app::App`]; the others draw what they are given.

mod app;
mod charts;
mod detail;
mod input;

pub use app::App;
