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
    if let Some(c) = s.chars().find(|&c| is_invisible(c)) {
        return Err((
            ErrorCode::InvalidName,
            format!("the {what} has an invisible or text-direction character (U+{:04X})", u32::from(c)),
        ));
    }
    // Joiners only join: inside an emoji sequence (🧑‍🎤) or a word, never at an end or doubled.
    let chars: Vec<char> = s.chars().collect();
    for (i, &c) in chars.iter().enumerate() {
        if is_joiner(c) && (i == 0 || i + 1 == chars.len() || is_joiner(chars[i - 1]) || is_joiner(chars[i + 1])) {
            return Err((ErrorCode::InvalidName, format!("the {what} has a stray joiner (U+{:04X})", u32::from(c))));
        }
    }
    Ok(s.to_owned())
}

fn is_joiner(c: char) -> bool {
    matches!(c, '\u{200C}' | '\u{200D}')
}

/// Characters that show nothing or reorder what follows: bidirectional overrides, embeddings and
/// isolates (a name that reads backwards, or drags the next column into it), zero-width spaces
/// and the byte-order mark, invisible fillers and separators.
fn is_invisible(c: char) -> bool {
    matches!(
        c,
        '\u{00AD}'
            | '\u{034F}'
            | '\u{061C}'
            | '\u{115F}'
            | '\u{1160}'
            | '\u{17B4}'
            | '\u{17B5}'
            | '\u{180B}'..='\u{180F}'
            | '\u{200B}'
            | '\u{200E}'
            | '\u{200F}'
            | '\u{2028}'..='\u{202E}'
            | '\u{2060}'..='\u{206F}'
            | '\u{3164}'
            | '\u{FEFF}'
            | '\u{FFA0}'
            | '\u{FFF0}'..='\u{FFFB}'
            | '\u{E0001}'
    )
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

#[cfg(test)]
mod tests {
    use super::clean_name;

    #[test]
    fn names_refuse_invisible_and_direction_characters_but_keep_emoji_sequences() {
        for bad in [
            "Ana\u{202E}gnp.exe",
            "\u{2067}Ben",
            "\u{202A}Cy",
            "Da\u{200B}n",
            "\u{FEFF}Eve",
            "Fay\u{200D}",
            "G\u{200D}\u{200D}o",
        ] {
            let e = clean_name(bad, "name").unwrap_err();
            assert!(e.1.contains("U+"), "{bad:?}: {}", e.1);
        }
        for good in ["Zoë", "🧑\u{200D}🎤 Mia", "❤\u{FE0F} Noor", "می\u{200C}خواهم", "李雷", "Ana (bass)"]
        {
            assert_eq!(clean_name(good, "name").unwrap(), good);
        }
    }
}
