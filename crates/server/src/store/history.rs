//! A session's history in the store: its chat, activity stream and document versions, each
//! bounded by what a session keeps ([`bandsync_core::retention`]), and read back row by row so
//! that one damaged row costs only itself.

use super::sql::{self, V, columns, one};
use super::{Store, StoreError};
use bandsync_core::protocol::{ActivityEvent, ChatMessage, VersionInfo};
use std::collections::HashMap;

/// Where a read of many sessions lists them: `session IN (…)`.
pub(super) const SESSIONS: &str = "(…)";

impl Store {
    /// The rows of `sql`, a read of the sessions it lists as [`SESSIONS`], on the reader
    /// connection, each session a parameter; none for no session (SQL has no empty list).
    pub(super) fn read_sessions(&self, sql: &str, sessions: &[&str]) -> Result<Vec<sql::Row>, StoreError> {
        if sessions.is_empty() {
            return Ok(Vec::new());
        }
        let listed = sql.replace(SESSIONS, &format!("({})", sql::numbered(1, sessions.len())));
        self.reader().query(&listed, &sessions.iter().map(|&s| V::from(s)).collect::<Vec<_>>())
    }

    /// A session's chat, oldest first. A stored message that no longer reads (damaged, or from a
    /// version that wrote it differently) is left out and logged: it costs that message, not the
    /// session's chat.
    ///
    /// # Errors
    /// On a database error.
    pub fn chat(&self, session: &str) -> Result<Vec<ChatMessage>, StoreError> {
        Ok(self.chats(&[session])?.remove(session).unwrap_or_default())
    }

    /// [`Store::chat`] of each of `sessions`, in one statement, by session (those with none are
    /// missing).
    ///
    /// # Errors
    /// On a database error.
    pub fn chats(&self, sessions: &[&str]) -> Result<HashMap<String, Vec<ChatMessage>>, StoreError> {
        let rows = self.read_sessions(
            "SELECT session, id, message FROM chat WHERE session IN (…) ORDER BY session, id",
            sessions,
        )?;
        let mut chats: HashMap<String, Vec<ChatMessage>> = HashMap::new();
        for r in rows {
            let mut next = columns(r);
            let (session, id) = (next().text()?, next());
            let read = next()
                .text()
                .and_then(|j| serde_json::from_str::<ChatMessage>(&j).map_err(|e| StoreError::Corrupt(e.to_string())));
            match read {
                Ok(m) => chats.entry(session).or_default().push(m),
                Err(e) => tracing::error!(session, ?id, "stored chat message skipped: {e}"),
            }
        }
        Ok(chats)
    }

    /// A page of a session's activity, oldest first: up to `limit` events older than `before` (or
    /// the newest), and whether older ones remain.
    ///
    /// # Errors
    /// On a database error.
    pub fn activity(
        &self,
        session: &str,
        before: Option<u64>,
        limit: usize,
    ) -> Result<(Vec<ActivityEvent>, bool), StoreError> {
        let before = before.map_or(i64::MAX, |b| b as i64);
        let rows = self.reader().query(
            "SELECT id, at, kind, by, summary FROM activity WHERE session = ?1 AND id < ?2 ORDER BY id DESC LIMIT ?3",
            &[session.into(), before.into(), (limit as i64 + 1).into()],
        )?;
        let mut events = Vec::new();
        let mut seen = 0;
        for r in rows {
            seen += 1;
            // A row that no longer reads is left out (and logged), not the whole page.
            match activity_row(r) {
                Ok(e) => events.push(e),
                Err(e) => tracing::error!(session, "stored activity event skipped: {e}"),
            }
        }
        let more = seen > limit;
        events.truncate(limit);
        events.reverse();
        Ok((events, more))
    }

    /// The newest activity id of a session (0 for none), read as a session starts (its journal),
    /// on the reader connection: every write of it is committed by then.
    ///
    /// # Errors
    /// On a database error.
    pub fn last_activity_id(&self, session: &str) -> Result<u64, StoreError> {
        Ok(self.last_activity_ids(&[session])?.remove(session).unwrap_or(0))
    }

    /// [`Store::last_activity_id`] of each of `sessions`, in one statement, by session (those
    /// with none are missing).
    ///
    /// # Errors
    /// On a database error.
    pub fn last_activity_ids(&self, sessions: &[&str]) -> Result<HashMap<String, u64>, StoreError> {
        let rows = self
            .read_sessions("SELECT session, MAX(id) FROM activity WHERE session IN (…) GROUP BY session", sessions)?;
        rows.into_iter()
            .map(|r| {
                let mut next = columns(r);
                Ok((next().text()?, next().opt_int()?.unwrap_or(0) as u64))
            })
            .collect()
    }

    /// A session's versions, oldest first (without their data). A row that does not read is left
    /// out and logged, as a chat message is.
    ///
    /// # Errors
    /// On a database error.
    pub fn versions(&self, session: &str) -> Result<Vec<VersionInfo>, StoreError> {
        Ok(self.versions_of(&[session])?.remove(session).unwrap_or_default())
    }

    /// [`Store::versions`] of each of `sessions`, in one statement, by session (those with none
    /// are missing).
    ///
    /// # Errors
    /// On a database error.
    pub fn versions_of(&self, sessions: &[&str]) -> Result<HashMap<String, Vec<VersionInfo>>, StoreError> {
        let rows = self.read_sessions(
            "SELECT session, id, at, label, length(data), named FROM doc_versions WHERE session IN (…)
             ORDER BY session, id",
            sessions,
        )?;
        let mut versions: HashMap<String, Vec<VersionInfo>> = HashMap::new();
        for r in rows {
            let mut next = columns(r);
            let session = next().text()?;
            match version_info(&mut next) {
                Ok(v) => versions.entry(session).or_default().push(v),
                Err(e) => tracing::error!(session, "stored version skipped: {e}"),
            }
        }
        Ok(versions)
    }

    /// One version's encoded document.
    ///
    /// # Errors
    /// On a database error.
    pub fn version_data(&self, session: &str, id: u64) -> Result<Option<Vec<u8>>, StoreError> {
        one(
            &mut **self.reader(),
            "SELECT data FROM doc_versions WHERE session = ?1 AND id = ?2",
            &[session.into(), (id as i64).into()],
        )?
        .map(V::bytes)
        .transpose()
    }
}

fn activity_row(r: sql::Row) -> Result<ActivityEvent, StoreError> {
    let mut next = columns(r);
    let (id, at, kind, by, summary) = (next().int()?, next().int()?, next().text()?, next().opt_int()?, next().text()?);
    let kind = serde_json::from_value(serde_json::Value::String(kind.clone()))
        .map_err(|_| StoreError::Corrupt(format!("unknown activity kind {kind:?} (event {id})")))?;
    let by = by.map(u32::try_from).transpose().map_err(|e| StoreError::Corrupt(e.to_string()))?;
    Ok(ActivityEvent { id: id as u64, at, kind, by, summary })
}

/// Inserts an activity event and drops the events up to `forget_through`, in the caller's
/// transaction (a session's group write, [`Store::append`]).
pub(super) fn insert_activity(
    db: &mut dyn sql::Db,
    session: &str,
    e: &ActivityEvent,
    forget_through: Option<u64>,
) -> Result<(), StoreError> {
    let kind = serde_json::to_value(e.kind).expect("kinds serialise");
    db.execute(
        "INSERT INTO activity (session, id, at, kind, by, summary) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        &[
            session.into(),
            (e.id as i64).into(),
            e.at.into(),
            kind.as_str().unwrap_or_default().into(),
            e.by.map_or(V::Null, |b| V::Int(b.into())),
            e.summary.as_str().into(),
        ],
    )?;
    drop_through(db, "activity", session, forget_through)
}

/// Saves a chat message as it is now (new, edited, deleted or reacted to) and drops the messages
/// up to `forget_through`, in the caller's transaction ([`Store::append`]).
pub(super) fn upsert_chat(
    db: &mut dyn sql::Db,
    session: &str,
    m: &ChatMessage,
    forget_through: Option<u64>,
) -> Result<(), StoreError> {
    let json = serde_json::to_string(m).expect("chat messages serialise");
    db.execute(
        "INSERT INTO chat (session, id, message) VALUES (?1, ?2, ?3)
         ON CONFLICT(session, id) DO UPDATE SET message = excluded.message",
        &[session.into(), (m.id as i64).into(), V::Text(json)],
    )?;
    drop_through(db, "chat", session, forget_through)
}

/// Drops a session's rows of `table` (`chat` or `activity`) with ids up to `id`: what the
/// session no longer keeps ([`bandsync_core::retention`]).
fn drop_through(db: &mut dyn sql::Db, table: &str, session: &str, id: Option<u64>) -> Result<(), StoreError> {
    if let Some(id) = id {
        db.execute(
            &format!("DELETE FROM {table} WHERE session = ?1 AND id <= ?2"),
            &[session.into(), (id as i64).into()],
        )?;
    }
    Ok(())
}

/// Saves a version and deletes the versions `thinned`, in the caller's transaction
/// ([`Store::append`]).
pub(super) fn insert_version(
    db: &mut dyn sql::Db,
    session: &str,
    v: &VersionInfo,
    data: &[u8],
    thinned: &[u64],
) -> Result<(), StoreError> {
    db.execute(
        "INSERT INTO doc_versions (session, id, at, label, data, named) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        &[
            session.into(),
            (v.id as i64).into(),
            v.at.into(),
            v.label.as_str().into(),
            data.into(),
            i64::from(v.named).into(),
        ],
    )?;
    for id in thinned {
        db.execute("DELETE FROM doc_versions WHERE session = ?1 AND id = ?2", &[session.into(), (*id as i64).into()])?;
    }
    Ok(())
}

/// A version's columns after its session: id, time, label, size, named.
fn version_info(next: &mut impl FnMut() -> V) -> Result<VersionInfo, StoreError> {
    Ok(VersionInfo {
        id: next().int()? as u64,
        at: next().int()?,
        label: next().text()?,
        size: next().int()? as u64,
        named: next().int()? != 0,
    })
}
