//! Awareness (cursors and names in a chart) as a member sends it: the input is the awareness
//! payload, wrapped in a y-sync awareness message, relayed or refused by the server.
#![no_main]

use bandsync_docs::SessionDoc;
use libfuzzer_sys::fuzz_target;

/// BandSync turns some of yrs's panics into errors with `catch_unwind` (crates/docs/src/guard.rs);
/// libFuzzer's hook would abort on those too. A panic that escapes the target still aborts.
fn quiet_caught_panics() {
    std::panic::set_hook(Box::new(|info| eprintln!("(a panic, caught or not: {info})")));
}

fn var(mut v: u64, out: &mut Vec<u8>) {
    while v >= 0x80 {
        out.push((v as u8 & 0x7f) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

fuzz_target!(init: quiet_caught_panics(), |data: &[u8]| {
    let mut frame = vec![1];
    var(data.len() as u64, &mut frame);
    frame.extend_from_slice(data);
    let doc = SessionDoc::new();
    if let Ok(r) = doc.handle(&frame, true) {
        assert!(!r.changed, "awareness changed the document");
        assert_eq!(r.broadcast.len(), 1, "an accepted awareness message is relayed once");
    }
});
