//! BandSync's core for the phone page, compiled to wasm: the same Rust the native members run, so
//! no rule is written a second time in TypeScript.
//!
//! - [`api`]: the calls the page makes, as JSON requests and answers (`{"op": "member.text", ...}`):
//!   the member (join, resume, heartbeats, clock sync, sync reports, the mirror), join links,
//!   the click grid, the device-clock filter, meters, chat export. Pure and tested natively.
//! - [`engine`]: the click engine for the page's AudioWorklet, rendered sample-exactly from the
//!   shared timeline without JSON on the audio path.
//! - [`registry`]: the objects the page holds by handle.
//! - `abi`: the few `extern "C"` exports JavaScript calls (allocation, `bs_call`, the engine's
//!   render); the only unsafe code, and only on wasm.
//!
//! The ABI is deliberately small and free of wasm-bindgen: it needs no generated glue, loads in an
//! AudioWorklet (which has no `TextDecoder`), and its types are the ts-rs bindings the UI already
//! has.

pub mod api;
pub mod engine;
pub mod registry;

#[cfg(target_arch = "wasm32")]
mod abi;
