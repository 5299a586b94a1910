//! What a member reads from a server (which may be anyone's, for a remote session): text frames
//! handed to the sans-IO member after it connected, one per line of the input, with time moving
//! on. The member must survive anything, and keep its invariants (its timers in the future).
#![no_main]

use bandsync_core::Micros;
use bandsync_core::member::{JoinTarget, Member, MemberConfig};
use libfuzzer_sys::fuzz_target;

/// BandSync turns some of yrs's panics into errors with `catch_unwind` (crates/docs/src/guard.rs);
/// libFuzzer's hook would abort on those too. A panic that escapes the target still aborts.
fn quiet_caught_panics() {
    std::panic::set_hook(Box::new(|info| eprintln!("(a panic, caught or not: {info})")));
}

fuzz_target!(init: quiet_caught_panics(), |data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let target = JoinTarget::parse("http://127.0.0.1:7878/s/abcdefghjk#k=secret").expect("a valid link");
    let mut m = Member::new(MemberConfig::new(target, "Fuzz"), Micros(0));
    m.handle_connected(Micros(1_000));
    let mut now = Micros(2_000);
    for line in text.split('\n') {
        m.handle_text(now, line);
        m.handle_binary(now, line.as_bytes().to_vec());
        now = now.saturating_add(Micros(10_000));
        m.handle_timeout(now);
        while m.poll_transmit().is_some() {}
        while m.poll_event().is_some() {}
    }
});
