//! The exports JavaScript calls. Memory crosses the boundary as (pointer, length) pairs into this
//! instance's linear memory; everything else is JSON through [`crate::api::call`].
//!
//! - `bs_alloc(len) -> ptr` and `bs_free(ptr, len)`: buffers JavaScript writes requests into.
//! - `bs_call(ptr, len) -> len`: handles the request in that buffer; the answer is left in this
//!   module's answer buffer, at `bs_answer()`.
//! - `bs_call_samples(ptr, len, sptr, sbytes) -> len`: the same, with f32 samples beside the
//!   request (a microphone recording).
//! - `bs_engine_render(handle, frames, first_lo, first_hi) -> ptr`: renders a quantum of the
//!   worklet's engine (interleaved stereo f32), or returns 0 for an unknown handle.
#![allow(unsafe_code)]

use std::cell::RefCell;

thread_local! {
    static ANSWER: RefCell<Vec<u8>> = const { RefCell::new(Vec::new()) };
}

/// A buffer of `len` bytes for JavaScript to fill.
#[unsafe(no_mangle)]
pub extern "C" fn bs_alloc(len: usize) -> *mut u8 {
    let mut v = Vec::<u8>::with_capacity(len.max(1));
    let p = v.as_mut_ptr();
    std::mem::forget(v);
    p
}

/// Frees a buffer from [`bs_alloc`].
///
/// # Safety
/// `ptr` and `len` must come from one [`bs_alloc`] call, freed once.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn bs_free(ptr: *mut u8, len: usize) {
    // SAFETY: the caller passes back exactly what `bs_alloc` returned, with its length.
    drop(unsafe { Vec::from_raw_parts(ptr, 0, len.max(1)) });
}

/// Handles the JSON request in `ptr[..len]`; returns the answer's length (at [`bs_answer`]).
///
/// # Safety
/// `ptr[..len]` must be initialised memory of this instance (a buffer from [`bs_alloc`]).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn bs_call(ptr: *const u8, len: usize) -> usize {
    // SAFETY: the caller's promise, passed on; no samples.
    unsafe { bs_call_samples(ptr, len, ptr, 0) }
}

/// [`bs_call`] with samples beside the request: `sptr[..sbytes]` holds little-endian f32s (a
/// recording; read bytewise, so the buffer needs no alignment).
///
/// # Safety
/// Both ranges must be initialised memory of this instance (buffers from [`bs_alloc`]).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn bs_call_samples(ptr: *const u8, len: usize, sptr: *const u8, sbytes: usize) -> usize {
    // SAFETY: the caller wrote `len` and `sbytes` bytes at `ptr` and `sptr`, in buffers it
    // allocated here.
    let (bytes, raw) = unsafe { (std::slice::from_raw_parts(ptr, len), std::slice::from_raw_parts(sptr, sbytes)) };
    let mut samples: Vec<f32> = Vec::with_capacity(sbytes / 4);
    for b in raw.chunks_exact(4) {
        samples.push(f32::from_le_bytes([b[0], b[1], b[2], b[3]]));
    }
    let answer = match std::str::from_utf8(bytes) {
        Ok(req) => crate::api::call_with(req, &samples),
        Err(_) => r#"{"err":"the request is not UTF-8"}"#.to_owned(),
    };
    ANSWER.with(|a| {
        let mut a = a.borrow_mut();
        a.clear();
        a.extend_from_slice(answer.as_bytes());
        a.len()
    })
}

/// Where the last answer is (valid until the next [`bs_call`]).
#[unsafe(no_mangle)]
pub extern "C" fn bs_answer() -> *const u8 {
    ANSWER.with(|a| a.borrow().as_ptr())
}

/// Renders `frames` frames of engine `handle` from context frame `first_hi << 32 | first_lo`;
/// returns the interleaved stereo samples (valid until the next render), or null.
#[unsafe(no_mangle)]
pub extern "C" fn bs_engine_render(handle: u32, frames: u32, first_lo: u32, first_hi: u32) -> *const f32 {
    let first = (u64::from(first_hi) << 32) | u64::from(first_lo);
    crate::registry::with(|r| match r.engines.get_mut(handle) {
        Some(e) => e.render(frames as usize, first).as_ptr(),
        None => std::ptr::null(),
    })
}
