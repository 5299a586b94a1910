//! Durable storage: sessions with their secrets, each session's document as a log of y-sync
//! updates compacted into snapshots, its chat, activity and versions, and `bandsync serve`'s
//! organizers. One interface, two engines:
//! - [`sqlite`], embedded, the default for `bandsync host` and the app;
//! - [`postgres`], for `bandsync serve --database postgres://…` (several nodes, one record).
//!
//! Every query is written once here, over [`sql::Db`]; an engine only runs it. Either way a write
//! is durable when its call returns, before anyone is told of it, so a crash (even `kill -9`)
//! loses nothing that was acknowledged.

pub mod lease;
pub mod postgres;
pub mod sql;
pub mod sqlite;

use bandsync_core::protocol::{ActivityEvent, ChatMessage, VersionInfo};
use bandsync_core::retention;
use sql::{Db, V, one};
use std::path::Path;
use std::sync::Mutex;

/// Updates in a session's log before they are folded into a snapshot.
pub const COMPACT_AFTER: i64 = 500;

/// Why storage failed.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The database engine refused.
    #[error("storage: {0}")]
    Engine(String),
    /// A stored row no longer parses.
    #[error("stored data is corrupt: {0}")]
    Corrupt(String),
    /// The data directory could not be made.
    #[error("cannot create the data directory {0}: {1}")]
    Dir(String, std::io::Error),
    /// The request conflicts with what is stored.
    #[error("{0}")]
    Conflict(String),
    /// This node no longer holds the session's lease: another node owns it now.
    #[error("fenced: this node's lease on session {session} (token {token}) was taken by another node")]
    Fenced {
        /// The session.
        session: String,
        /// The token this node held.
        token: i64,
    },
}

/// A stored session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredSession {
    /// Its id.
    pub id: String,
    /// Its name.
    pub name: String,
    /// Its current join secret.
    pub secret: String,
    /// Its leader's link's secret, where an organizer made it.
    pub leader_secret: Option<String>,
    /// Its view-only link's secret.
    pub viewer_secret: Option<String>,
    /// The PIN for typed joins, if the leader set one.
    pub pin: Option<String>,
}

/// A stored document: the snapshot, if the log was ever compacted, and the updates after it.
pub type StoredDocument = (Option<Vec<u8>>, Vec<Vec<u8>>);

/// The database.
#[derive(Debug)]
pub struct Store {
    db: Mutex<Box<dyn Db>>,
    /// The fencing tokens of the leases this node holds, by session.
    fences: Mutex<std::collections::HashMap<String, i64>>,
}

impl Store {
    /// Opens (creating if needed) the SQLite database `DIR/bandsync.sqlite3`.
    ///
    /// # Errors
    /// When the directory or database cannot be created or opened.
    pub fn open(dir: &Path) -> Result<Self, StoreError> {
        Ok(Store::on(Box::new(sqlite::Sqlite::open(dir)?)))
    }

    /// Connects to a Postgres database (`postgres://…`), creating the schema if needed.
    ///
    /// # Errors
    /// When it cannot be reached or refuses.
    pub fn connect(url: &str) -> Result<Self, StoreError> {
        Ok(Store::on(Box::new(postgres::Postgres::connect(url)?)))
    }

    /// A store on an engine.
    #[must_use]
    pub fn on(db: Box<dyn Db>) -> Self {
        Store { db: Mutex::new(db), fences: Mutex::default() }
    }

    /// Which engine: `sqlite` or `postgres`.
    #[must_use]
    pub fn engine(&self) -> &'static str {
        self.db().engine()
    }

    pub(crate) fn db(&self) -> std::sync::MutexGuard<'_, Box<dyn Db>> {
        self.db.lock().expect("store lock poisoned")
    }

    fn fences(&self) -> std::sync::MutexGuard<'_, std::collections::HashMap<String, i64>> {
        self.fences.lock().expect("fences lock poisoned")
    }

    /// Every stored session, oldest first.
    ///
    /// # Errors
    /// On a database error.
    pub fn sessions(&self) -> Result<Vec<StoredSession>, StoreError> {
        let rows = self.db().query(
            "SELECT id, name, secret, leader_secret, viewer_secret, pin FROM sessions ORDER BY created, id",
            &[],
        )?;
        rows.into_iter().map(stored_session).collect()
    }

    /// One stored session (a member's connection on a cluster node looks it up: one row).
    ///
    /// # Errors
    /// On a database error.
    pub fn session(&self, id: &str) -> Result<Option<StoredSession>, StoreError> {
        let rows = self.db().query(
            "SELECT id, name, secret, leader_secret, viewer_secret, pin FROM sessions WHERE id = ?1",
            &[id.into()],
        )?;
        rows.into_iter().next().map(stored_session).transpose()
    }

    /// Saves what a session carries to the next node (its members and schedule, as JSON).
    ///
    /// # Errors
    /// On a database error; [`StoreError::Fenced`] on a node that lost the session's lease.
    pub fn put_carried(&self, session: &str, json: &str) -> Result<(), StoreError> {
        self.write(session, |db| {
            db.execute(
                "INSERT INTO carried (session, data) VALUES (?1, ?2)
                 ON CONFLICT(session) DO UPDATE SET data = excluded.data",
                &[session.into(), json.into()],
            )
        })?;
        Ok(())
    }

    /// What a session carried, if it was ever saved.
    ///
    /// # Errors
    /// On a database error.
    pub fn carried(&self, session: &str) -> Result<Option<String>, StoreError> {
        one(&mut **self.db(), "SELECT data FROM carried WHERE session = ?1", &[session.into()])?
            .map(V::text)
            .transpose()
    }

    /// Records a session (or its new secret).
    ///
    /// # Errors
    /// On a database error.
    pub fn put_session(&self, s: &StoredSession) -> Result<(), StoreError> {
        let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_secs() as i64);
        self.write(&s.id, |db| {
            db.execute(
                "INSERT INTO sessions (id, name, secret, created, leader_secret, viewer_secret, pin)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)
             ON CONFLICT(id) DO UPDATE SET name = excluded.name, secret = excluded.secret,
                 leader_secret = excluded.leader_secret, viewer_secret = excluded.viewer_secret,
                 pin = excluded.pin",
                &[
                    s.id.as_str().into(),
                    s.name.as_str().into(),
                    s.secret.as_str().into(),
                    now.into(),
                    V::opt_text(s.leader_secret.as_deref()),
                    V::opt_text(s.viewer_secret.as_deref()),
                    V::opt_text(s.pin.as_deref()),
                ],
            )
        })?;
        Ok(())
    }

    /// Appends a document update; it is durable when this returns. Compacts the log into a
    /// snapshot (`state` is called for the whole document) every [`COMPACT_AFTER`] updates.
    ///
    /// # Errors
    /// On a database error.
    pub fn append_update(&self, session: &str, data: &[u8], state: impl FnOnce() -> Vec<u8>) -> Result<(), StoreError> {
        self.write(session, |db| {
            db.execute("INSERT INTO doc_updates (session, data) VALUES (?1, ?2)", &[session.into(), data.into()])?;
            let n = one(db, "SELECT COUNT(*) FROM doc_updates WHERE session = ?1", &[session.into()])?
                .map_or(Ok(0), |v| v.int())?;
            if n >= COMPACT_AFTER {
                let upto = one(db, "SELECT MAX(seq) FROM doc_updates WHERE session = ?1", &[session.into()])?
                    .map_or(Ok(0), |v| v.int())?;
                db.execute(
                    "INSERT INTO doc_snapshots (session, upto, data) VALUES (?1, ?2, ?3)
                     ON CONFLICT(session) DO UPDATE SET upto = excluded.upto, data = excluded.data",
                    &[session.into(), upto.into(), V::Bytes(state())],
                )?;
                db.execute("DELETE FROM doc_updates WHERE session = ?1 AND seq <= ?2", &[session.into(), upto.into()])?;
            }
            Ok(())
        })
    }

    /// Saves a chat message as it is now (new, edited, deleted or reacted to). A new message
    /// also drops those that fall out of what a session keeps ([`retention::CHAT_KEPT`]), in the
    /// same transaction.
    ///
    /// # Errors
    /// On a database error.
    pub fn put_chat(&self, session: &str, m: &ChatMessage) -> Result<(), StoreError> {
        let json = serde_json::to_string(m).expect("chat messages serialise");
        self.write(session, |db| {
            db.execute(
                "INSERT INTO chat (session, id, message) VALUES (?1, ?2, ?3)
             ON CONFLICT(session, id) DO UPDATE SET message = excluded.message",
                &[session.into(), (m.id as i64).into(), V::Text(json)],
            )?;
            if let Some(old) = retention::dropped_through(m.id, retention::CHAT_KEPT) {
                db.execute("DELETE FROM chat WHERE session = ?1 AND id <= ?2", &[session.into(), (old as i64).into()])?;
            }
            Ok(())
        })
    }

    /// A session's chat, oldest first. A stored message that no longer reads (damaged, or from a
    /// version that wrote it differently) is left out and logged: it costs that message, not the
    /// session's chat.
    ///
    /// # Errors
    /// On a database error.
    pub fn chat(&self, session: &str) -> Result<Vec<ChatMessage>, StoreError> {
        let rows = self.db().query("SELECT id, message FROM chat WHERE session = ?1 ORDER BY id", &[session.into()])?;
        Ok(rows
            .into_iter()
            .filter_map(|r| {
                let mut c = r.into_iter();
                let id = c.next().unwrap_or(V::Null);
                let read = c.next().unwrap_or(V::Null).text().and_then(|j| {
                    serde_json::from_str::<ChatMessage>(&j).map_err(|e| StoreError::Corrupt(e.to_string()))
                });
                read.map_err(|e| tracing::error!(session, ?id, "stored chat message skipped: {e}")).ok()
            })
            .collect())
    }

    /// Appends an activity event, and drops those that fall out of what a session keeps
    /// ([`retention::ACTIVITY_KEPT`]).
    ///
    /// # Errors
    /// On a database error.
    pub fn add_activity(&self, session: &str, e: &ActivityEvent) -> Result<(), StoreError> {
        let kind = serde_json::to_value(e.kind).expect("kinds serialise");
        self.write(session, |db| {
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
            if let Some(old) = retention::dropped_through(e.id, retention::ACTIVITY_KEPT) {
                db.execute(
                    "DELETE FROM activity WHERE session = ?1 AND id <= ?2",
                    &[session.into(), (old as i64).into()],
                )?;
            }
            Ok(())
        })
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
        let rows = self.db().query(
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

    /// The newest activity id of a session (0 for none).
    ///
    /// # Errors
    /// On a database error.
    pub fn last_activity_id(&self, session: &str) -> Result<u64, StoreError> {
        let id = one(&mut **self.db(), "SELECT MAX(id) FROM activity WHERE session = ?1", &[session.into()])?;
        Ok(id.map_or(Ok(None), |v| v.opt_int())?.unwrap_or(0) as u64)
    }

    /// Saves a document version, and drops the versions `thinned` (those the thinning rule lets go:
    /// [`retention::versions_to_drop`]), in one transaction.
    ///
    /// # Errors
    /// On a database error.
    pub fn add_version(&self, session: &str, v: &VersionInfo, data: &[u8], thinned: &[u64]) -> Result<(), StoreError> {
        self.write(session, |db| {
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
                db.execute(
                    "DELETE FROM doc_versions WHERE session = ?1 AND id = ?2",
                    &[session.into(), (*id as i64).into()],
                )?;
            }
            Ok(())
        })
    }

    /// A session's versions, oldest first (without their data).
    ///
    /// # Errors
    /// On a database error.
    pub fn versions(&self, session: &str) -> Result<Vec<VersionInfo>, StoreError> {
        let rows = self.db().query(
            "SELECT id, at, label, length(data), named FROM doc_versions WHERE session = ?1 ORDER BY id",
            &[session.into()],
        )?;
        rows.into_iter()
            .map(|r| {
                let mut c = r.into_iter();
                let mut next = || c.next().unwrap_or(V::Null);
                Ok(VersionInfo {
                    id: next().int()? as u64,
                    at: next().int()?,
                    label: next().text()?,
                    size: next().int()? as u64,
                    named: next().int()? != 0,
                })
            })
            .collect()
    }

    /// One version's encoded document.
    ///
    /// # Errors
    /// On a database error.
    pub fn version_data(&self, session: &str, id: u64) -> Result<Option<Vec<u8>>, StoreError> {
        one(
            &mut **self.db(),
            "SELECT data FROM doc_versions WHERE session = ?1 AND id = ?2",
            &[session.into(), (id as i64).into()],
        )?
        .map(V::bytes)
        .transpose()
    }

    /// The stored document: its snapshot (if any) and the updates after it, in order.
    ///
    /// # Errors
    /// On a database error.
    pub fn document(&self, session: &str) -> Result<StoredDocument, StoreError> {
        let mut db = self.db();
        let snap = db.query("SELECT upto, data FROM doc_snapshots WHERE session = ?1", &[session.into()])?;
        let snap = match snap.into_iter().next() {
            Some(r) => {
                let mut c = r.into_iter();
                let upto = c.next().unwrap_or(V::Null).int()?;
                Some((upto, c.next().unwrap_or(V::Null).bytes()?))
            }
            None => None,
        };
        let after = snap.as_ref().map_or(0, |s| s.0);
        let updates = db
            .query(
                "SELECT data FROM doc_updates WHERE session = ?1 AND seq > ?2 ORDER BY seq",
                &[session.into(), after.into()],
            )?
            .into_iter()
            .map(|r| r.into_iter().next().unwrap_or(V::Null).bytes())
            .collect::<Result<_, _>>()?;
        Ok((snap.map(|s| s.1), updates))
    }
}

fn activity_row(r: sql::Row) -> Result<ActivityEvent, StoreError> {
    let mut c = r.into_iter();
    let mut next = || c.next().unwrap_or(V::Null);
    let (id, at, kind, by, summary) = (next().int()?, next().int()?, next().text()?, next().opt_int()?, next().text()?);
    let kind = serde_json::from_value(serde_json::Value::String(kind.clone()))
        .map_err(|_| StoreError::Corrupt(format!("unknown activity kind {kind:?} (event {id})")))?;
    let by = by.map(u32::try_from).transpose().map_err(|e| StoreError::Corrupt(e.to_string()))?;
    Ok(ActivityEvent { id: id as u64, at, kind, by, summary })
}

fn stored_session(r: sql::Row) -> Result<StoredSession, StoreError> {
    let mut c = r.into_iter();
    let mut next = || c.next().unwrap_or(V::Null);
    Ok(StoredSession {
        id: next().text()?,
        name: next().text()?,
        secret: next().text()?,
        leader_secret: next().opt_text_col()?,
        viewer_secret: next().opt_text_col()?,
        pin: next().opt_text_col()?,
    })
}
