//! Event lines: one JSON object per line with `--json`, or a short human sentence.

use serde_json::{Value, json};
use std::io::Write;

/// Prints one event.
pub fn emit(json_mode: bool, event: &Value, human: impl FnOnce() -> String) {
    let mut out = std::io::stdout().lock();
    let line = if json_mode { event.to_string() } else { human() };
    let _ = writeln!(out, "{line}");
    let _ = out.flush();
}

/// Prints an error that ends the program.
pub fn fatal(json_mode: bool, message: &str) {
    if json_mode {
        emit(true, &json!({"event": "fatal", "message": message}), String::new);
    } else {
        eprintln!("bandsync: {message}");
    }
}
