//! A member's binary frame on the server: y-sync (sync steps, updates, awareness), checked and
//! applied to a session's documents, as an editor and as a viewer; and the same bytes read by a
//! member from a server. Nothing may panic, and a refused frame must change nothing.
#![no_main]

use bandsync_docs::{SessionDoc, Song};
use libfuzzer_sys::fuzz_target;

/// BandSync turns some of yrs's panics into errors with `catch_unwind` (crates/docs/src/guard.rs);
/// libFuzzer's hook would abort on those too. A panic that escapes the target still aborts.
fn quiet_caught_panics() {
    std::panic::set_hook(Box::new(|info| eprintln!("(a panic, caught or not: {info})")));
}

fuzz_target!(init: quiet_caught_panics(), |data: &[u8]| {
    let doc = SessionDoc::new();
    // A document with some content, so that updates meet existing structs.
    let song = Song { id: "s1".into(), title: "Wonderwall".into(), key: String::new(), tempo: Some(bandsync_core::Tempo(87_000)), meter: String::new(), notes: String::new(), midi: String::new(), flow: String::new() };
    let _ = doc.add_song(&song);
    let _ = doc.set_chart("s1", "[Em7]Today is [G]gonna be the day");
    let before = doc.encode_state();
    match doc.handle(data, false) {
        Ok(r) => assert!(!r.changed, "a viewer changed the document"),
        Err(_) => assert_eq!(doc.encode_state(), before, "a viewer's refused frame changed the document"),
    }
    match doc.handle(data, true) {
        Ok(_) => drop(doc.encode_state()),
        // Refused partway through: the server loads the documents again from its store.
        Err(bandsync_docs::DocError::Poisoned(_)) => {}
        Err(_) => assert_eq!(doc.encode_state(), before, "a refused frame changed the document"),
    }
    let member = SessionDoc::new();
    let _ = member.handle_from_server(data);
});
