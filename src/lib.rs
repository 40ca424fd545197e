//! The webhook tutorial app, compiled to WebAssembly and run by the page.
//!
//! The modules stand in layers, each using only those below it (a tidy test checks there is no
//! cycle): `json`, `failure`, `serial` at the bottom; each feature's state and messages in
//! `sign_in`, `firmware`, `demo`, `cleanup` and `check` (of the learner's own server), with
//! `action`, every `data-action` a template may carry; `state`, the one `State` composing them with what they share (the server's
//! configuration, the lists and picks); `lists`, the setup steps' messages; `panel`, what each
//! panel shows; `msg`, the closed set of messages that change the state and the effects they ask
//! for; `update`, the pure function between them, by feature; then `announce`, `steps` and
//! `render` (state into HTML with the Handlebars templates in `templates/`). `browser` (wasm32 only)
//! owns the page: it starts the app, turns clicks and replies into messages and runs effects. Only
//! `browser` touches `web-sys` and the network, so everything else is plain Rust, tested natively.

pub mod action;
pub mod announce;
pub mod check;
pub mod cleanup;
pub mod demo;
pub mod failure;
pub mod firmware;
pub mod json;
pub mod lists;
pub mod msg;
pub mod panel;
pub mod render;
pub mod resume;
pub mod serial;
pub mod sign_in;
pub mod state;
pub mod steps;
pub mod summary;
pub mod update;

#[cfg(target_arch = "wasm32")]
mod browser;
