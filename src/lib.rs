//! The webhook tutorial app, compiled to WebAssembly and run by the page.
//!
//! `state` holds the one `State`; `msg` the closed set of messages that change it and the effects
//! they ask for; `action` the closed set of the page's controls (every `data-action`); `update` the pure function between them, with the live demo's part in `demo` and
//! the cleanup panel's in `cleanup`. `render` turns state into HTML with the Handlebars templates in
//! `templates/`. `browser` (wasm32 only) owns the page: it starts the app, turns clicks and replies
//! into messages and runs effects. Only `browser` touches `web-sys` and the network, so everything
//! else is plain Rust, tested natively.

pub mod action;
pub mod announce;
pub mod cleanup;
pub mod demo;
pub mod json;
pub mod msg;
pub mod panel;
pub mod render;
pub mod serial;
pub mod state;
pub mod steps;
pub mod timeline;
pub mod update;

#[cfg(target_arch = "wasm32")]
mod browser;
