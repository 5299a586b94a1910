//! Who a chat message mentions: `@Ben`, `@drums`, `@leader`, `@all`.
//!
//! The server reads a message's mentions once, when it is posted or edited, against the session's
//! participants at that moment, and the message carries the ids ([`ChatMessage::mentions`]): every
//! device of a mentioned member (each a participant of the same name) notifies, and no device
//! has to read the text again, or to agree on who "@drums" was.
//!
//! A mention is `@` (at the start or after a character that is not a letter or digit, so that
//! `ana@example.org` mentions no one) and then letters, digits, `_`, `-` or `.` (a trailing `.`
//! is the sentence's). It matches, ignoring case:
//! - `all`, `everyone`, `band`: everyone else;
//! - `leader`: the leader;
//! - a participant's name with its spaces left out (`@MemberFive` for "Member Five"), or its
//!   first word (`@Ben` for "Ben Cole");
//! - an instrument (`@drums`, `@drum` and `@Drums` for "Drums"; `@bass` for "Bass"), spaces left
//!   out as for names.
//!
//! Nobody is notified of their own message.
//!
//! [`ChatMessage::mentions`]: crate::protocol::ChatMessage::mentions

use crate::protocol::{Participant, ParticipantId, Role};

/// The participants `text`, written by `from`, mentions, in the order of `people`.
#[must_use]
pub fn mentioned(text: &str, from: ParticipantId, people: &[Participant]) -> Vec<ParticipantId> {
    let words = words(text);
    if words.is_empty() {
        return Vec::new();
    }
    let everyone = words.iter().any(|w| matches!(w.as_str(), "all" | "everyone" | "band"));
    people
        .iter()
        .filter(|p| p.id != from)
        .filter(|p| {
            everyone
                || words.iter().any(|w| {
                    (w == "leader" && p.role == Role::Leader)
                        || name_matches(w, &p.name)
                        || p.instrument.as_deref().is_some_and(|i| instrument_matches(w, i))
                })
        })
        .map(|p| p.id)
        .collect()
}

/// The words after each `@`, lower-cased.
fn words(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut prev: Option<char> = None;
    for (i, c) in text.char_indices() {
        let starts = c == '@' && !prev.is_some_and(char::is_alphanumeric);
        prev = Some(c);
        if !starts {
            continue;
        }
        let rest = &text[i + 1..];
        let len = rest.find(|c: char| !(c.is_alphanumeric() || matches!(c, '_' | '-' | '.'))).unwrap_or(rest.len());
        let w = rest[..len].trim_end_matches('.');
        if !w.is_empty() && !out.iter().any(|o: &String| *o == w.to_lowercase()) {
            out.push(w.to_lowercase());
        }
    }
    out
}

/// `s` lower-cased, without whitespace.
fn squashed(s: &str) -> String {
    s.chars().filter(|c| !c.is_whitespace()).flat_map(char::to_lowercase).collect()
}

fn name_matches(w: &str, name: &str) -> bool {
    squashed(name) == w || name.split_whitespace().next().is_some_and(|first| squashed(first) == w)
}

fn instrument_matches(w: &str, instrument: &str) -> bool {
    let i = squashed(instrument);
    let singular = |s: &str| s.strip_suffix('s').unwrap_or(s).to_owned();
    i == w || (i.len() > 2 && w.len() > 2 && singular(&i) == singular(w))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::{Access, Connection};
    use crate::time::Micros;

    fn p(id: ParticipantId, name: &str, instrument: Option<&str>, role: Role) -> Participant {
        Participant {
            id,
            name: name.into(),
            instrument: instrument.map(Into::into),
            role,
            access: Access::Editor,
            connection: Connection::Online,
            color: String::new(),
            sync: None,
            joined_at: Micros::ZERO,
        }
    }

    fn band() -> Vec<Participant> {
        vec![
            p(1, "Ana", Some("Vocals"), Role::Leader),
            p(2, "Ben Cole", Some("Drums"), Role::Follower),
            p(3, "Ben Cole", Some("Drums"), Role::Follower), // Ben's second device
            p(4, "Cy", Some("Bass"), Role::Follower),
            p(5, "Member Five", None, Role::Follower),
        ]
    }

    #[test]
    fn names_instruments_roles_and_everyone() {
        let b = band();
        assert_eq!(mentioned("@Ben the count-in", 1, &b), vec![2, 3], "every device of the member");
        assert_eq!(mentioned("@bencole?", 1, &b), vec![2, 3]);
        assert_eq!(mentioned("@drums louder", 1, &b), vec![2, 3]);
        assert_eq!(mentioned("@drum and @BASS.", 1, &b), vec![2, 3, 4]);
        assert_eq!(mentioned("ask @leader", 4, &b), vec![1]);
        assert_eq!(mentioned("@MemberFive, @member", 1, &b), vec![5]);
        assert_eq!(mentioned("@all: break", 4, &b), vec![1, 2, 3, 5], "not the sender");
        assert_eq!(mentioned("@everyone", 1, &b).len(), 4);
    }

    #[test]
    fn what_is_not_a_mention() {
        let b = band();
        assert!(mentioned("mail ana@example.org", 2, &b).is_empty(), "an address");
        assert!(mentioned("@ alone, @@, @nobody", 2, &b).is_empty());
        assert!(mentioned("@Ana", 1, &b).is_empty(), "oneself");
        assert!(mentioned("no mention at all", 1, &b).is_empty());
        assert!(mentioned("@Bens", 1, &b).is_empty(), "a name is not made plural");
    }
}
