//! Durable storage in SQLite (bundled): sessions with their secrets, and each session's document
//! as a log of y-sync updates compacted into snapshots. WAL mode with `synchronous=FULL`: an
//! update is on disk before anyone is told of it, so a crash (even `kill -9`) loses nothing
//! that was acknowledged.

use bandsync_core::protocol::{ActivityEvent, ChatMessage, VersionInfo};
use rusqlite::{Connection, OptionalExtension, params};
use std::path::Path;
use std::sync::Mutex;

/// Updates in a session's log before they are folded into a snapshot.
pub const COMPACT_AFTER: i64 = 500;

/// Why storage failed.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// SQLite refused.
    #[error("storage: {0}")]
    Sqlite(#[from] rusqlite::Error),
    /// A stored row no longer parses.
    #[error("stored data is corrupt: {0}")]
    Corrupt(String),
    /// The data directory could not be made.
    #[error("cannot create the data directory {0}: {1}")]
    Dir(String, std::io::Error),
    /// The request conflicts with what is stored.
    #[error("{0}")]
    Conflict(String),
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
    db: Mutex<Connection>,
}

impl Store {
    /// Opens (creating if needed) `DIR/bandsync.sqlite3`.
    ///
    /// # Errors
    /// When the directory or database cannot be created or opened.
    pub fn open(dir: &Path) -> Result<Self, StoreError> {
        std::fs::create_dir_all(dir).map_err(|e| StoreError::Dir(dir.display().to_string(), e))?;
        let db = Connection::open(dir.join("bandsync.sqlite3"))?;
        db.pragma_update(None, "journal_mode", "WAL")?;
        db.pragma_update(None, "synchronous", "FULL")?;
        db.execute_batch(
            "CREATE TABLE IF NOT EXISTS sessions (
                 id TEXT PRIMARY KEY, name TEXT NOT NULL, secret TEXT NOT NULL, created INTEGER NOT NULL);
             CREATE TABLE IF NOT EXISTS doc_updates (
                 seq INTEGER PRIMARY KEY AUTOINCREMENT, session TEXT NOT NULL, data BLOB NOT NULL);
             CREATE INDEX IF NOT EXISTS doc_updates_session ON doc_updates(session, seq);
             CREATE TABLE IF NOT EXISTS doc_snapshots (
                 session TEXT PRIMARY KEY, upto INTEGER NOT NULL, data BLOB NOT NULL);
             CREATE TABLE IF NOT EXISTS chat (
                 session TEXT NOT NULL, id INTEGER NOT NULL, message TEXT NOT NULL, PRIMARY KEY (session, id));
             CREATE TABLE IF NOT EXISTS activity (
                 session TEXT NOT NULL, id INTEGER NOT NULL, at INTEGER NOT NULL, kind TEXT NOT NULL,
                 by INTEGER, summary TEXT NOT NULL, PRIMARY KEY (session, id));
             CREATE TABLE IF NOT EXISTS doc_versions (
                 session TEXT NOT NULL, id INTEGER NOT NULL, at INTEGER NOT NULL, label TEXT NOT NULL,
                 data BLOB NOT NULL, PRIMARY KEY (session, id));",
        )?;
        db.execute_batch(crate::organizers::SCHEMA)?;
        // Added after the first release: a database from before gets the columns.
        for column in ["leader_secret", "viewer_secret", "pin"] {
            let has: bool =
                db.prepare("SELECT 1 FROM pragma_table_info('sessions') WHERE name = ?1")?.exists([column])?;
            if !has {
                db.execute_batch(&format!("ALTER TABLE sessions ADD COLUMN {column} TEXT"))?;
            }
        }
        Ok(Store { db: Mutex::new(db) })
    }

    pub(crate) fn db(&self) -> std::sync::MutexGuard<'_, Connection> {
        self.db.lock().expect("store lock poisoned")
    }

    /// Every stored session, oldest first.
    ///
    /// # Errors
    /// On a database error.
    pub fn sessions(&self) -> Result<Vec<StoredSession>, StoreError> {
        let db = self.db();
        let mut q = db
            .prepare("SELECT id, name, secret, leader_secret, viewer_secret, pin FROM sessions ORDER BY created, id")?;
        let rows = q.query_map([], |r| {
            Ok(StoredSession {
                id: r.get(0)?,
                name: r.get(1)?,
                secret: r.get(2)?,
                leader_secret: r.get(3)?,
                viewer_secret: r.get(4)?,
                pin: r.get(5)?,
            })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// Records a session (or its new secret).
    ///
    /// # Errors
    /// On a database error.
    pub fn put_session(&self, s: &StoredSession) -> Result<(), StoreError> {
        let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_secs() as i64);
        self.db().execute(
            "INSERT INTO sessions (id, name, secret, created, leader_secret, viewer_secret, pin)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)
             ON CONFLICT(id) DO UPDATE SET name = excluded.name, secret = excluded.secret,
                 leader_secret = excluded.leader_secret, viewer_secret = excluded.viewer_secret,
                 pin = excluded.pin",
            params![s.id, s.name, s.secret, now, s.leader_secret, s.viewer_secret, s.pin],
        )?;
        Ok(())
    }

    /// Appends a document update; it is durable when this returns. Compacts the log into a
    /// snapshot (`state` is called for the whole document) every [`COMPACT_AFTER`] updates.
    ///
    /// # Errors
    /// On a database error.
    pub fn append_update(&self, session: &str, data: &[u8], state: impl FnOnce() -> Vec<u8>) -> Result<(), StoreError> {
        let mut db = self.db();
        db.execute("INSERT INTO doc_updates (session, data) VALUES (?1, ?2)", params![session, data])?;
        let n: i64 = db.query_row("SELECT COUNT(*) FROM doc_updates WHERE session = ?1", [session], |r| r.get(0))?;
        if n >= COMPACT_AFTER {
            let tx = db.transaction()?;
            let upto: i64 =
                tx.query_row("SELECT MAX(seq) FROM doc_updates WHERE session = ?1", [session], |r| r.get(0))?;
            tx.execute(
                "INSERT INTO doc_snapshots (session, upto, data) VALUES (?1, ?2, ?3)
                 ON CONFLICT(session) DO UPDATE SET upto = excluded.upto, data = excluded.data",
                params![session, upto, state()],
            )?;
            tx.execute("DELETE FROM doc_updates WHERE session = ?1 AND seq <= ?2", params![session, upto])?;
            tx.commit()?;
        }
        Ok(())
    }

    /// Saves a chat message as it is now (new, edited, deleted or reacted to).
    ///
    /// # Errors
    /// On a database error.
    pub fn put_chat(&self, session: &str, m: &ChatMessage) -> Result<(), StoreError> {
        let json = serde_json::to_string(m).expect("chat messages serialise");
        self.db().execute(
            "INSERT INTO chat (session, id, message) VALUES (?1, ?2, ?3)
             ON CONFLICT(session, id) DO UPDATE SET message = excluded.message",
            params![session, m.id as i64, json],
        )?;
        Ok(())
    }

    /// A session's chat, oldest first.
    ///
    /// # Errors
    /// On a database error, or a stored message that no longer parses.
    pub fn chat(&self, session: &str) -> Result<Vec<ChatMessage>, StoreError> {
        let db = self.db();
        let mut q = db.prepare("SELECT message FROM chat WHERE session = ?1 ORDER BY id")?;
        let rows: Vec<String> = q.query_map([session], |r| r.get(0))?.collect::<Result<_, _>>()?;
        rows.iter().map(|j| serde_json::from_str(j).map_err(|e| StoreError::Corrupt(e.to_string()))).collect()
    }

    /// Appends an activity event.
    ///
    /// # Errors
    /// On a database error.
    pub fn add_activity(&self, session: &str, e: &ActivityEvent) -> Result<(), StoreError> {
        let kind = serde_json::to_value(e.kind).expect("kinds serialise");
        self.db().execute(
            "INSERT INTO activity (session, id, at, kind, by, summary) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            params![session, e.id as i64, e.at, kind.as_str(), e.by, e.summary],
        )?;
        Ok(())
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
        let db = self.db();
        let mut q = db.prepare(
            "SELECT id, at, kind, by, summary FROM activity WHERE session = ?1 AND id < ?2 ORDER BY id DESC LIMIT ?3",
        )?;
        let before = before.map_or(i64::MAX, |b| b as i64);
        let rows = q.query_map(params![session, before, limit as i64 + 1], |r| {
            let kind: String = r.get(2)?;
            Ok((r.get::<_, i64>(0)?, r.get::<_, i64>(1)?, kind, r.get::<_, Option<u32>>(3)?, r.get::<_, String>(4)?))
        })?;
        let mut events = Vec::new();
        for row in rows {
            let (id, at, kind, by, summary) = row?;
            let kind = serde_json::from_value(serde_json::Value::String(kind.clone()))
                .map_err(|_| StoreError::Corrupt(format!("unknown activity kind {kind:?}")))?;
            events.push(ActivityEvent { id: id as u64, at, kind, by, summary });
        }
        let more = events.len() > limit;
        events.truncate(limit);
        events.reverse();
        Ok((events, more))
    }

    /// The newest activity id of a session (0 for none).
    ///
    /// # Errors
    /// On a database error.
    pub fn last_activity_id(&self, session: &str) -> Result<u64, StoreError> {
        let id: Option<i64> =
            self.db().query_row("SELECT MAX(id) FROM activity WHERE session = ?1", [session], |r| r.get(0))?;
        Ok(id.unwrap_or(0) as u64)
    }

    /// Saves a document version.
    ///
    /// # Errors
    /// On a database error.
    pub fn add_version(&self, session: &str, v: &VersionInfo, data: &[u8]) -> Result<(), StoreError> {
        self.db().execute(
            "INSERT INTO doc_versions (session, id, at, label, data) VALUES (?1, ?2, ?3, ?4, ?5)",
            params![session, v.id as i64, v.at, v.label, data],
        )?;
        Ok(())
    }

    /// A session's versions, oldest first (without their data).
    ///
    /// # Errors
    /// On a database error.
    pub fn versions(&self, session: &str) -> Result<Vec<VersionInfo>, StoreError> {
        let db = self.db();
        let mut q =
            db.prepare("SELECT id, at, label, length(data) FROM doc_versions WHERE session = ?1 ORDER BY id")?;
        let rows = q.query_map([session], |r| {
            Ok(VersionInfo {
                id: r.get::<_, i64>(0)? as u64,
                at: r.get(1)?,
                label: r.get(2)?,
                size: r.get::<_, i64>(3)? as u64,
            })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// One version's encoded document.
    ///
    /// # Errors
    /// On a database error.
    pub fn version_data(&self, session: &str, id: u64) -> Result<Option<Vec<u8>>, StoreError> {
        Ok(self
            .db()
            .query_row(
                "SELECT data FROM doc_versions WHERE session = ?1 AND id = ?2",
                params![session, id as i64],
                |r| r.get(0),
            )
            .optional()?)
    }

    /// The stored document: its snapshot (if any) and the updates after it, in order.
    ///
    /// # Errors
    /// On a database error.
    pub fn document(&self, session: &str) -> Result<StoredDocument, StoreError> {
        let db = self.db();
        let snap: Option<(i64, Vec<u8>)> = db
            .query_row("SELECT upto, data FROM doc_snapshots WHERE session = ?1", [session], |r| {
                Ok((r.get(0)?, r.get(1)?))
            })
            .optional()?;
        let after = snap.as_ref().map_or(0, |s| s.0);
        let mut q = db.prepare("SELECT data FROM doc_updates WHERE session = ?1 AND seq > ?2 ORDER BY seq")?;
        let updates = q.query_map(params![session, after], |r| r.get(0))?.collect::<Result<_, _>>()?;
        Ok((snap.map(|s| s.1), updates))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sessions_and_documents_survive_reopening_and_compaction() {
        let dir = std::env::temp_dir().join(format!("bandsync-store-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        {
            let s = Store::open(&dir).unwrap();
            s.put_session(&StoredSession {
                id: "a".into(),
                name: "Gig".into(),
                secret: "k1".into(),
                leader_secret: None,
                viewer_secret: None,
                pin: None,
            })
            .unwrap();
            s.put_session(&StoredSession {
                id: "a".into(),
                name: "Gig".into(),
                secret: "k2".into(),
                leader_secret: None,
                viewer_secret: None,
                pin: None,
            })
            .unwrap();
            let member = bandsync_docs::SessionDoc::new();
            let server = bandsync_docs::SessionDoc::new();
            for i in 0..(COMPACT_AFTER + 20) {
                let msg = member.insert_chart("song", 0, &format!("{i} "));
                // What the session task stores: the raw updates a member's message carried.
                for u in server.handle(&msg, true).unwrap().updates {
                    s.append_update("a", &u, || server.encode_state()).unwrap();
                }
            }
        }
        let s = Store::open(&dir).unwrap();
        assert_eq!(
            s.sessions().unwrap(),
            vec![StoredSession {
                id: "a".into(),
                name: "Gig".into(),
                secret: "k2".into(),
                leader_secret: None,
                viewer_secret: None,
                pin: None
            }]
        );
        let (snap, updates) = s.document("a").unwrap();
        assert!(snap.is_some(), "compacted");
        assert_eq!(updates.len(), 20, "the log holds only what came after the snapshot");
        let restored = bandsync_docs::SessionDoc::new();
        restored.apply_update(&snap.unwrap()).unwrap();
        for u in updates {
            restored.apply_update(&u).unwrap();
        }
        let text = restored.chart("song").unwrap();
        assert!(text.starts_with("519 518 ") && text.ends_with(" 1 0 "), "{}", &text[..20]);
        let _ = std::fs::remove_dir_all(&dir);
    }
}
