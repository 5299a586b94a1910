//! Rows read back from the store (SQLite) after a restart, damaged or written by another version:
//! a chat message (JSON), an activity kind, a version's description, and document rows (a
//! snapshot, an update, a version's data) applied as the server applies them. The first byte
//! picks the kind of row.
#![no_main]

use bandsync_core::protocol::{ActivityKind, ChatMessage, VersionInfo};
use bandsync_docs::SessionDoc;
use libfuzzer_sys::fuzz_target;

/// BandSync turns some of yrs's panics into errors with `catch_unwind` (crates/docs/src/guard.rs);
/// libFuzzer's hook would abort on those too. A panic that escapes the target still aborts.
fn quiet_caught_panics() {
    std::panic::set_hook(Box::new(|info| eprintln!("(a panic, caught or not: {info})")));
}

fuzz_target!(init: quiet_caught_panics(), |data: &[u8]| {
    let Some((&kind, row)) = data.split_first() else { return };
    match kind % 4 {
        0 => {
            if let Ok(s) = std::str::from_utf8(row) {
                let _ = serde_json::from_str::<ChatMessage>(s);
            }
        }
        1 => {
            if let Ok(s) = std::str::from_utf8(row) {
                let _ = serde_json::from_value::<ActivityKind>(serde_json::Value::String(s.to_owned()));
            }
        }
        2 => {
            if let Ok(s) = std::str::from_utf8(row) {
                let _ = serde_json::from_str::<VersionInfo>(s);
            }
        }
        _ => {
            let doc = SessionDoc::new();
            // A row that breaks the document is refused (DocError::Poisoned), not a panic.
            if doc.apply_update(row).is_ok() {
                // What loaded must encode, and its encoding must load again without a panic. (It
                // may be refused: a document waiting for missing structs encodes them with a gap.)
                let state = doc.encode_state();
                let _ = SessionDoc::new().apply_update(&state);
                let _ = doc.setlist();
            }
        }
    }
});
