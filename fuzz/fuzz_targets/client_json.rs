//! What the server reads from every member: a text frame, decoded into a `ClientMsg`. Any input
//! gets a message or a `DecodeError` (which becomes the error frame the member is sent).
#![no_main]

use libfuzzer_sys::fuzz_target;

/// BandSync turns some of yrs's panics into errors with `catch_unwind` (crates/docs/src/guard.rs);
/// libFuzzer's hook would abort on those too. A panic that escapes the target still aborts.
fn quiet_caught_panics() {
    std::panic::set_hook(Box::new(|info| eprintln!("(a panic, caught or not: {info})")));
}

fuzz_target!(init: quiet_caught_panics(), |data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    match bandsync_core::protocol::decode_client(text) {
        Ok(msg) => {
            let _ = msg.route();
            let _ = msg.kind();
        }
        Err(e) => {
            let _ = bandsync_core::protocol::DecodeError::to_msg(&e);
        }
    }
});
