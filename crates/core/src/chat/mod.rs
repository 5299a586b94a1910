//! The chat rules. (The types on the wire, chat messages, activity events and versions, are in
//! [`crate::protocol`].)
//!
//! Sans-IO like the rest of the core. [`ChatLog`] holds a session's messages and decides what a
//! member may do to them (post, edit or delete their own, react, search); the server persists
//! whatever it returns. Wall-clock times (`at`, Unix milliseconds) are inputs, as `now` is
//! everywhere else.

pub mod mentions;

use crate::protocol::{ChatMessage, ErrorCode, Participant, ParticipantId, Reaction, Refusal};

/// The longest chat message, in characters.
pub const MAX_CHAT_CHARS: usize = 2000;
/// The most emoji reactions one message carries (distinct emoji).
pub const MAX_REACTIONS: usize = 24;
/// The most messages one `chat_history` answer carries.
pub const MAX_PAGE: usize = 500;

/// A session's chat: every message, and the rules for changing them.
#[derive(Debug, Default, Clone)]
pub struct ChatLog {
    messages: Vec<ChatMessage>,
}

impl ChatLog {
    /// A chat holding `messages` (as loaded from storage), sorted by id.
    #[must_use]
    pub fn new(mut messages: Vec<ChatMessage>) -> Self {
        messages.sort_by_key(|m| m.id);
        ChatLog { messages }
    }

    /// Every message, oldest first.
    #[must_use]
    pub fn messages(&self) -> &[ChatMessage] {
        &self.messages
    }

    /// One message.
    #[must_use]
    pub fn get(&self, id: u64) -> Option<&ChatMessage> {
        self.find(id).ok()
    }

    /// Forgets every message with an id up to `id` (they fell out of what a session keeps:
    /// [`crate::retention::CHAT_KEPT`]).
    pub fn forget_through(&mut self, id: u64) {
        let n = self.messages.partition_point(|m| m.id <= id);
        self.messages.drain(..n);
    }

    /// Puts message `id` back as it was before a change the driver could not persist: `old`, or
    /// gone if it was new.
    pub fn undo(&mut self, id: u64, old: Option<ChatMessage>) {
        if let Ok(i) = self.index(id) {
            match old {
                Some(m) => self.messages[i] = m,
                None => {
                    self.messages.remove(i);
                }
            }
        }
    }

    /// Posts a message, which mentions whom it names among `people` (the session's participants).
    ///
    /// # Errors
    /// `malformed` for empty or over-long text, or a reply to a message that does not exist.
    pub fn post(
        &mut self,
        from: ParticipantId,
        name: &str,
        text: &str,
        reply_to: Option<u64>,
        at: i64,
        people: &[Participant],
    ) -> Result<&ChatMessage, Refusal> {
        let text = clean_text(text)?;
        if let Some(r) = reply_to {
            self.find(r)?;
        }
        let id = self.messages.last().map_or(1, |m| m.id + 1);
        let mentions = mentions::mentioned(&text, from, people);
        self.messages.push(ChatMessage {
            id,
            from,
            name: name.to_owned(),
            text,
            at,
            edited_at: None,
            deleted: false,
            reply_to,
            reactions: Vec::new(),
            mentions,
        });
        Ok(self.messages.last().expect("just pushed"))
    }

    /// Replaces the text of one of `who`'s own messages, and reads its mentions again.
    ///
    /// # Errors
    /// `forbidden` for someone else's message, `unknown_message` for no such message (or a
    /// deleted one), `malformed` for bad text.
    pub fn edit(
        &mut self,
        who: ParticipantId,
        id: u64,
        text: &str,
        at: i64,
        people: &[Participant],
    ) -> Result<&ChatMessage, Refusal> {
        let text = clean_text(text)?;
        let m = self.own_mut(who, id, "edit")?;
        m.mentions = mentions::mentioned(&text, who, people);
        m.text = text;
        m.edited_at = Some(at);
        Ok(m)
    }

    /// Deletes one of `who`'s own messages: its text and reactions go, a tombstone stays so that
    /// replies still make sense.
    ///
    /// # Errors
    /// `forbidden` for someone else's message, `unknown_message` for no such message.
    pub fn delete(&mut self, who: ParticipantId, id: u64, at: i64) -> Result<&ChatMessage, Refusal> {
        let m = self.own_mut(who, id, "delete")?;
        m.text.clear();
        m.reactions.clear();
        m.mentions.clear();
        m.deleted = true;
        m.edited_at = Some(at);
        Ok(m)
    }

    /// Toggles `who`'s reaction `emoji` on a message.
    ///
    /// # Errors
    /// `unknown_message` for no such (or a deleted) message; `malformed` for an emoji that is
    /// empty, longer than 16 bytes or contains letters, digits or whitespace; `malformed` when
    /// the message already carries [`MAX_REACTIONS`] distinct emoji.
    pub fn react(&mut self, who: ParticipantId, id: u64, emoji: &str) -> Result<&ChatMessage, Refusal> {
        let ok = !emoji.is_empty()
            && emoji.len() <= 16
            && !emoji.chars().any(|c| c.is_alphanumeric() || c.is_whitespace() || c.is_control());
        if !ok {
            return Err((ErrorCode::Malformed, "a reaction is one emoji".into()));
        }
        let i = self.index(id)?;
        let m = &mut self.messages[i];
        if m.deleted {
            return Err((ErrorCode::UnknownMessage, format!("message {id} was deleted")));
        }
        match m.reactions.iter().position(|r| r.emoji == emoji) {
            Some(r) => {
                let by = &mut m.reactions[r].by;
                match by.iter().position(|&p| p == who) {
                    Some(k) => {
                        by.remove(k);
                        if by.is_empty() {
                            m.reactions.remove(r);
                        }
                    }
                    None => by.push(who),
                }
            }
            None if m.reactions.len() >= MAX_REACTIONS => {
                return Err((ErrorCode::Malformed, format!("at most {MAX_REACTIONS} different reactions")));
            }
            None => m.reactions.push(Reaction { emoji: emoji.to_owned(), by: vec![who] }),
        }
        Ok(m)
    }

    /// A page of history, oldest first: up to `limit` messages older than `before` (or the
    /// newest, without `before`), keeping only those whose text or author contains `query`
    /// (case-insensitive). Deleted messages are left out of searches. The flag says whether
    /// older matches remain.
    #[must_use]
    pub fn page(&self, before: Option<u64>, limit: usize, query: Option<&str>) -> (Vec<ChatMessage>, bool) {
        let limit = limit.clamp(1, MAX_PAGE);
        let needle = query.map(str::trim).filter(|q| !q.is_empty()).map(str::to_lowercase);
        let mut hits =
            self.messages.iter().rev().filter(|m| before.is_none_or(|b| m.id < b)).filter(|m| match &needle {
                None => true,
                Some(q) => !m.deleted && (m.text.to_lowercase().contains(q) || m.name.to_lowercase().contains(q)),
            });
        let mut page: Vec<ChatMessage> = hits.by_ref().take(limit).cloned().collect();
        let more = hits.next().is_some();
        page.reverse();
        (page, more)
    }

    fn index(&self, id: u64) -> Result<usize, Refusal> {
        self.messages
            .binary_search_by_key(&id, |m| m.id)
            .map_err(|_| (ErrorCode::UnknownMessage, format!("no message {id}")))
    }

    fn find(&self, id: u64) -> Result<&ChatMessage, Refusal> {
        self.index(id).map(|i| &self.messages[i])
    }

    fn own_mut(&mut self, who: ParticipantId, id: u64, verb: &str) -> Result<&mut ChatMessage, Refusal> {
        let i = self.index(id)?;
        let m = &mut self.messages[i];
        if m.from != who {
            return Err((ErrorCode::Forbidden, format!("you can only {verb} your own messages")));
        }
        if m.deleted {
            return Err((ErrorCode::UnknownMessage, format!("message {id} was deleted")));
        }
        Ok(m)
    }
}

fn clean_text(text: &str) -> Result<String, Refusal> {
    let t = text.trim();
    if t.is_empty() {
        return Err((ErrorCode::Malformed, "a chat message needs some text".into()));
    }
    if t.chars().count() > MAX_CHAT_CHARS {
        return Err((ErrorCode::Malformed, format!("a chat message is at most {MAX_CHAT_CHARS} characters")));
    }
    if t.chars().any(|c| c.is_control() && c != '\n' && c != '\t') {
        return Err((ErrorCode::Malformed, "a chat message cannot hold control characters".into()));
    }
    Ok(t.to_owned())
}

/// Renders chat history for export: `json` (an array of messages), `csv` (RFC 4180, one row per
/// message) or `txt` (one line per message, as a person reads it). Deleted messages are kept as
/// tombstones in JSON and left out of CSV and TXT. `at` is rendered as UTC.
///
/// # Errors
/// An unknown format.
pub fn export(messages: &[ChatMessage], format: &str) -> Result<String, String> {
    match format {
        "json" => Ok(serde_json::to_string_pretty(messages).expect("chat messages serialise")),
        "csv" => {
            let mut out = String::from("id,at,from,name,text,edited,reply_to,reactions\r\n");
            for m in messages.iter().filter(|m| !m.deleted) {
                let reactions: Vec<String> =
                    m.reactions.iter().map(|r| format!("{}x{}", r.emoji, r.by.len())).collect();
                let row = [
                    m.id.to_string(),
                    utc(m.at),
                    m.from.to_string(),
                    m.name.clone(),
                    m.text.clone(),
                    m.edited_at.is_some().to_string(),
                    m.reply_to.map(|r| r.to_string()).unwrap_or_default(),
                    reactions.join(" "),
                ];
                let cells: Vec<String> = row.iter().map(|c| csv_cell(c)).collect();
                out.push_str(&cells.join(","));
                out.push_str("\r\n");
            }
            Ok(out)
        }
        "txt" => {
            let mut out = String::new();
            for m in messages.iter().filter(|m| !m.deleted) {
                let edited = if m.edited_at.is_some() { " (edited)" } else { "" };
                let text = m.text.replace('\n', "\n    ");
                out.push_str(&format!("[{}] {}: {}{}\n", utc(m.at), m.name, text, edited));
            }
            Ok(out)
        }
        other => Err(format!("unknown export format {other:?}: use json, csv or txt")),
    }
}

fn csv_cell(s: &str) -> String {
    if s.contains([',', '"', '\n', '\r']) { format!("\"{}\"", s.replace('"', "\"\"")) } else { s.to_owned() }
}

/// Unix milliseconds as `YYYY-MM-DD HH:MM:SS` UTC (proleptic Gregorian, civil-from-days).
#[must_use]
pub fn utc(ms: i64) -> String {
    let secs = ms.div_euclid(1000);
    let (days, rem) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!("{y:04}-{m:02}-{d:02} {:02}:{:02}:{:02}", rem / 3600, rem % 3600 / 60, rem % 60)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn log() -> ChatLog {
        let mut c = ChatLog::default();
        c.post(1, "Ana", "Bring the capo", None, 1_000, &[]).unwrap();
        c.post(2, "Ben", "Which song?", Some(1), 2_000, &[]).unwrap();
        c.post(1, "Ana", "Wonderwall, capo 2", Some(2), 3_000, &[]).unwrap();
        c
    }

    #[test]
    fn only_the_author_edits_or_deletes() {
        let mut c = log();
        assert_eq!(c.edit(2, 1, "hijack", 5, &[]).unwrap_err().0, ErrorCode::Forbidden);
        assert_eq!(c.delete(2, 1, 5).unwrap_err().0, ErrorCode::Forbidden);
        assert_eq!(c.messages()[0].text, "Bring the capo");
        let m = c.edit(1, 1, "Bring the capo and picks", 4_000, &[]).unwrap();
        assert_eq!((m.text.as_str(), m.edited_at), ("Bring the capo and picks", Some(4_000)));
        c.react(2, 1, "👍").unwrap();
        let m = c.delete(1, 1, 5_000).unwrap();
        assert!(m.deleted && m.text.is_empty() && m.reactions.is_empty());
        assert_eq!(c.edit(1, 1, "again", 6, &[]).unwrap_err().0, ErrorCode::UnknownMessage);
        assert_eq!(c.edit(1, 99, "x", 6, &[]).unwrap_err().0, ErrorCode::UnknownMessage);
    }

    #[test]
    fn reactions_toggle_per_person() {
        let mut c = log();
        c.react(1, 2, "👍").unwrap();
        c.react(3, 2, "👍").unwrap();
        c.react(3, 2, "🔥").unwrap();
        let m = c.react(1, 2, "👍").unwrap();
        assert_eq!(
            m.reactions,
            vec![Reaction { emoji: "👍".into(), by: vec![3] }, Reaction { emoji: "🔥".into(), by: vec![3] }]
        );
        let m = c.react(3, 2, "👍").unwrap();
        assert_eq!(m.reactions.len(), 1);
        assert_eq!(c.react(1, 2, "lol").unwrap_err().0, ErrorCode::Malformed);
        assert_eq!(c.react(1, 2, "").unwrap_err().0, ErrorCode::Malformed);
    }

    #[test]
    fn bad_text_is_refused() {
        let mut c = log();
        assert_eq!(c.post(1, "Ana", "   ", None, 0, &[]).unwrap_err().0, ErrorCode::Malformed);
        assert_eq!(
            c.post(1, "Ana", &"x".repeat(MAX_CHAT_CHARS + 1), None, 0, &[]).unwrap_err().0,
            ErrorCode::Malformed
        );
        assert_eq!(c.post(1, "Ana", "bell\u{7}", None, 0, &[]).unwrap_err().0, ErrorCode::Malformed);
        assert_eq!(c.post(1, "Ana", "hi", Some(42), 0, &[]).unwrap_err().0, ErrorCode::UnknownMessage);
        assert_eq!(c.messages().len(), 3);
    }

    #[test]
    fn pages_and_search() {
        let mut c = log();
        for i in 0..10 {
            c.post(2, "Ben", &format!("take {i}"), None, 10_000 + i, &[]).unwrap();
        }
        let (page, more) = c.page(None, 4, None);
        assert_eq!(page.iter().map(|m| m.id).collect::<Vec<_>>(), vec![10, 11, 12, 13]);
        assert!(more);
        let (page, more) = c.page(Some(4), 10, None);
        assert_eq!(page.iter().map(|m| m.id).collect::<Vec<_>>(), vec![1, 2, 3]);
        assert!(!more);
        let (hits, _) = c.page(None, 50, Some("CAPO"));
        assert_eq!(hits.iter().map(|m| m.id).collect::<Vec<_>>(), vec![1, 3]);
        let (hits, _) = c.page(None, 50, Some("ana"));
        assert_eq!(hits.len(), 2, "searching matches author names too");
        c.delete(1, 3, 0).unwrap();
        let (hits, _) = c.page(None, 50, Some("capo"));
        assert_eq!(hits.iter().map(|m| m.id).collect::<Vec<_>>(), vec![1]);
    }

    #[test]
    fn exports_escape_and_skip_tombstones() {
        let mut c = log();
        c.post(3, "Cy, \"the\" drummer", "line one\nline two", None, 86_400_000 + 3_723_000, &[]).unwrap();
        c.delete(1, 1, 0).unwrap();
        let csv = export(c.messages(), "csv").unwrap();
        let lines: Vec<&str> = csv.split("\r\n").collect();
        assert_eq!(lines[0], "id,at,from,name,text,edited,reply_to,reactions");
        assert!(lines[1].starts_with("2,1970-01-01 00:00:02,2,Ben,Which song?,"), "{}", lines[1]);
        assert!(csv.contains("4,1970-01-02 01:02:03,3,\"Cy, \"\"the\"\" drummer\",\"line one\nline two\""), "{csv}");
        let txt = export(c.messages(), "txt").unwrap();
        assert!(txt.starts_with("[1970-01-01 00:00:02] Ben: Which song?\n"), "{txt}");
        assert!(!txt.contains("Bring the capo"));
        let json: Vec<ChatMessage> = serde_json::from_str(&export(c.messages(), "json").unwrap()).unwrap();
        assert_eq!(json, c.messages());
        assert!(export(c.messages(), "xml").is_err());
    }

    #[test]
    fn utc_matches_known_dates() {
        assert_eq!(utc(0), "1970-01-01 00:00:00");
        assert_eq!(utc(951_782_400_000), "2000-02-29 00:00:00");
        assert_eq!(utc(1_795_478_400_000 + 61_000), "2026-11-24 00:01:01");
    }
}
