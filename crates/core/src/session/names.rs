//! What a name, an instrument or a colour may be.

use super::Refusal;
use crate::protocol::ErrorCode;

/// The most characters in a name or instrument.
pub const MAX_NAME_CHARS: usize = 40;

pub(super) fn clean_name(raw: &str, what: &str) -> Result<String, Refusal> {
    let s = raw.trim();
    if s.is_empty() {
        return Err((ErrorCode::InvalidName, format!("the {what} is empty")));
    }
    if s.chars().count() > MAX_NAME_CHARS {
        return Err((ErrorCode::InvalidName, format!("the {what} is longer than {MAX_NAME_CHARS} characters")));
    }
    if s.chars().any(char::is_control) {
        return Err((ErrorCode::InvalidName, format!("the {what} has control characters")));
    }
    Ok(s.to_owned())
}

pub(super) fn clean_instrument(raw: Option<&str>) -> Result<Option<String>, Refusal> {
    match raw.map(str::trim) {
        None | Some("") => Ok(None),
        Some(s) => clean_name(s, "instrument").map(Some),
    }
}

pub(super) fn clean_color(raw: &str) -> Result<String, Refusal> {
    let ok = raw.len() == 7 && raw.starts_with('#') && raw[1..].chars().all(|c| c.is_ascii_hexdigit());
    if ok { Ok(raw.to_ascii_lowercase()) } else { Err((ErrorCode::InvalidName, "a colour is #rrggbb".into())) }
}
