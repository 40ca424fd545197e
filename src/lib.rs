//! The webhook tutorial app, compiled to WebAssembly and run by the page.
//!
//! `state` holds the one `State` and the pure `update` function (`demo` the live demo's part of it),
//! `render` turns state into HTML with
//! the Handlebars templates in `templates/`, and `dom` (browser only) owns the page, dispatches
//! messages and runs effects. Only `dom` touches `web-sys` and the network.

pub mod demo;
pub mod panel;
pub mod render;
pub mod serial;
pub mod state;
pub mod timeline;

#[cfg(target_arch = "wasm32")]
mod dom;
#[cfg(target_arch = "wasm32")]
mod stream;
