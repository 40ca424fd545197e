//! Pure logic shared by the browser app and the servers.
//!
//! Nothing here does IO or async work, and nothing depends on `web-sys`: the crate builds for
//! `wasm32-unknown-unknown` and natively, and is tested with plain `cargo test`.

pub mod platform;
pub mod sse;
pub mod template;
pub mod time;
pub mod webhook;
pub mod wire;
