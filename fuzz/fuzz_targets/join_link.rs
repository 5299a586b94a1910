//! A join link as typed, pasted or scanned from a QR code: parsed into a target, or refused with
//! a reason. A parsed link with a secret must come back the same from its own rendering.
#![no_main]

use bandsync_core::member::JoinTarget;
use libfuzzer_sys::fuzz_target;

/// BandSync turns some of yrs's panics into errors with `catch_unwind` (crates/docs/src/guard.rs);
/// libFuzzer's hook would abort on those too. A panic that escapes the target still aborts.
fn quiet_caught_panics() {
    std::panic::set_hook(Box::new(|info| eprintln!("(a panic, caught or not: {info})")));
}

fuzz_target!(init: quiet_caught_panics(), |data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let Ok(t) = JoinTarget::parse(text) else { return };
    if let Some(secret) = &t.secret {
        let again = JoinTarget::parse(&t.link(secret)).expect("a rendered link parses");
        assert_eq!(
            (&again.ws_url, &again.origin, &again.session, &again.secret),
            (&t.ws_url, &t.origin, &t.session, &t.secret),
            "{text:?} does not round-trip"
        );
    }
});
