//! Durable storage: sessions with their secrets, each session's document as a log of y-sync
//! updates compacted into snapshots, its chat, activity and versions, and `bandsync serve`'s
//! organizers. One interface, two engines:
//! - [`sqlite`], embedded, the default for `bandsync host` and the app;
//! - [`postgres`], for `bandsync serve --database postgres://…` (several nodes, one record).
//!
//! A document's snapshot is written and read in slices (`fold.rs`), and SQLite's log is
//! checkpointed by a thread of its own (`checkpoint.rs`), so that a big document does not hold
//! the database, or a session's next append, for the whole of its write.
//!
//! Every query is written once here, over [`sql::Db`]; an engine only runs it. Either way a write
//! is durable when its call returns, before anyone is told of it, so a crash (even `kill -9`)
//! loses nothing that was acknowledged.

mod checkpoint;
mod fold;
mod group;
mod history;
pub mod lease;
mod log;
pub mod postgres;
mod renewal;
pub mod sql;
pub mod sqlite;
pub mod take;

pub use fold::SLICE;
use log::LogSize;
pub use log::{Appended, COMPACT_AFTER, COMPACT_AT_MOST, fold_due};
use sql::{Db, V, columns, one};
use std::collections::HashMap;
use std::path::Path;
use std::sync::Mutex;

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
    /// The session was deleted: nothing more is stored for it.
    #[error("session {0} was deleted")]
    Deleted(String),
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
    /// Fair: a fold writes its slices one after another, and without a fair hand-over the
    /// session's append waiting between two of them waited for the whole fold (27 ms measured).
    db: parking_lot::FairMutex<Box<dyn Db>>,
    /// A second connection for the reads a running session makes (a page of its activity, a
    /// version's data), so that they never wait behind its appends on the first ([`Store::reader`]);
    /// and for what a session starting reads (and on Postgres, a lease taken: [`Store::apart`]).
    reader: Option<parking_lot::FairMutex<Box<dyn Db>>>,
    /// A third connection, for the renewals of this node's leases (Postgres): see
    /// [`Store::renew_leases`].
    renewer: Option<parking_lot::FairMutex<Box<dyn Db>>>,
    /// Held by the fold running ([`Store::compact`]): one at a time, whatever the sessions, since
    /// each holds a second copy of its document while it runs.
    folding: Mutex<()>,
    /// The fencing tokens of the leases this node holds, by session.
    fences: Mutex<HashMap<String, i64>>,
    /// Each session's log as this store appended to it, read from the database at its first
    /// append, and again after each fold and each time the session's lease is taken or given up
    /// (while this node holds it, no other appends).
    logs: Mutex<HashMap<String, LogSize>>,
    /// Sessions' writes waiting for the next group's transaction ([`group`]).
    waiting: Mutex<Vec<group::Waiting>>,
    /// Whether a thread is writing the groups ([`group`]).
    leading: std::sync::atomic::AtomicBool,
}

impl Store {
    /// Opens (creating if needed) the SQLite database `DIR/bandsync.sqlite3`.
    ///
    /// # Errors
    /// When the directory or database cannot be created or opened.
    pub fn open(dir: &Path) -> Result<Self, StoreError> {
        let store = Store::on(Box::new(sqlite::Sqlite::open(dir)?));
        Ok(Store { reader: Some(parking_lot::FairMutex::new(Box::new(sqlite::Sqlite::reader(dir)?))), ..store })
    }

    /// Connects to a Postgres database (`postgres://…`), creating the schema if needed.
    ///
    /// # Errors
    /// When it cannot be reached or refuses.
    pub fn connect(url: &str) -> Result<Self, StoreError> {
        Store::connect_within(url, postgres::ANSWER_WITHIN)
    }

    /// As [`Store::connect`], giving up a connection whose statement goes unanswered for
    /// `answer_within` ([`postgres::Postgres::answer_within`]).
    ///
    /// # Errors
    /// When it cannot be reached or refuses.
    pub fn connect_within(url: &str, answer_within: std::time::Duration) -> Result<Self, StoreError> {
        let connect = || postgres::Postgres::connect_within(url, answer_within);
        let store = Store::on(Box::new(connect()?));
        Ok(Store {
            reader: Some(parking_lot::FairMutex::new(Box::new(connect()?))),
            renewer: Some(parking_lot::FairMutex::new(Box::new(connect()?))),
            ..store
        })
    }

    /// A store on an engine.
    #[must_use]
    pub fn on(db: Box<dyn Db>) -> Self {
        Store {
            db: parking_lot::FairMutex::new(db),
            reader: None,
            renewer: None,
            folding: Mutex::default(),
            fences: Mutex::default(),
            logs: Mutex::default(),
            waiting: Mutex::default(),
            leading: std::sync::atomic::AtomicBool::new(false),
        }
    }

    /// Which engine: `sqlite` or `postgres`.
    #[must_use]
    pub fn engine(&self) -> &'static str {
        self.db().engine()
    }

    pub(crate) fn db(&self) -> parking_lot::FairMutexGuard<'_, Box<dyn Db>> {
        self.db.lock()
    }

    /// The connection for a running session's reads and a starting one's: the reader, if this
    /// store has one.
    pub(crate) fn reader(&self) -> parking_lot::FairMutexGuard<'_, Box<dyn Db>> {
        self.reader.as_ref().unwrap_or(&self.db).lock()
    }

    fn fences(&self) -> std::sync::MutexGuard<'_, HashMap<String, i64>> {
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

    /// What a session carried, if it was ever saved: the schedule's JSON and the roster's
    /// (`None` in a row saved before the two were apart, whose schedule holds its members), for
    /// [`bandsync_core::session::carry::Carried::from_parts`]. Read as the session starts, on the
    /// reader connection (as [`Store::document_to_start`]).
    ///
    /// # Errors
    /// On a database error.
    pub fn carried(&self, session: &str) -> Result<Option<(String, Option<String>)>, StoreError> {
        Ok(self.carried_of(&[session])?.remove(session))
    }

    /// [`Store::carried`] of each of `sessions`, in one statement, by session (those never saved,
    /// or whose row does not read, are missing).
    ///
    /// # Errors
    /// On a database error.
    pub fn carried_of(&self, sessions: &[&str]) -> Result<HashMap<String, (String, Option<String>)>, StoreError> {
        let rows = self.read_sessions("SELECT session, data, roster FROM carried WHERE session IN (…)", sessions)?;
        let mut carried = HashMap::new();
        for r in rows {
            let mut next = columns(r);
            let session = next().text()?;
            // One that does not read is left out and logged: its session starts without it, as
            // it does when what it holds does not read (`Hub::start_stored`).
            match next().text().and_then(|data| Ok((data, next().opt_text_col()?))) {
                Ok(c) => drop(carried.insert(session, c)),
                Err(e) => tracing::error!(session, "carried state unreadable: {e}"),
            }
        }
        Ok(carried)
    }

    /// Asks the database something, through the connection the renewals take: whether it
    /// answers (a node holding no lease asks it this instead).
    ///
    /// # Errors
    /// On a database error.
    pub fn ping(&self) -> Result<(), StoreError> {
        one(&mut **self.renewer(), "SELECT 1", &[]).map(drop)
    }

    /// The connection for renewing leases: its own, if this store has one.
    pub(crate) fn renewer(&self) -> parking_lot::FairMutexGuard<'_, Box<dyn Db>> {
        self.renewer.as_ref().unwrap_or(&self.db).lock()
    }

    /// Whether leases are handled apart from the writes (Postgres, whose connections may each
    /// write): taken on the reader connection ([`Store::take_lease`]), and renewed on a
    /// connection of their own, passing over rows a write holds ([`Store::renew_leases`]).
    /// SQLite has one writer: both go on the writers' connection, in its statements.
    pub(crate) fn apart(&self) -> bool {
        self.renewer.is_some()
    }

    /// Records a new session (one stored already is updated). `now_ms`, the host's wall clock, is
    /// when it was made if it is new (a session never held by a node ages from then, see
    /// [`Store::unheld_since`]); an update keeps the first.
    ///
    /// # Errors
    /// On a database error.
    pub fn put_session(&self, s: &StoredSession, now_ms: i64) -> Result<(), StoreError> {
        let now = now_ms.div_euclid(1000);
        self.write_row(&s.id, |db| {
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
}

/// Saves a running or stored session's row as it is now (its name, secrets and PIN: a rotation, a
/// new PIN, a view-only secret a row from before them lacked), in the caller's transaction
/// ([`Store::append`], [`Store::write`]). Unlike [`Store::put_session`], it never makes
/// a session again: one deleted while its task ran stays deleted (the caller's write is refused
/// with [`StoreError::Deleted`] first).
pub(crate) fn update_session(db: &mut dyn Db, s: &StoredSession) -> Result<(), StoreError> {
    db.execute(
        "UPDATE sessions SET name = ?2, secret = ?3, leader_secret = ?4, viewer_secret = ?5, pin = ?6 WHERE id = ?1",
        &[
            s.id.as_str().into(),
            s.name.as_str().into(),
            s.secret.as_str().into(),
            V::opt_text(s.leader_secret.as_deref()),
            V::opt_text(s.viewer_secret.as_deref()),
            V::opt_text(s.pin.as_deref()),
        ],
    )?;
    Ok(())
}

/// A session's carried state to save: `(session, schedule, roster)`, JSON; the roster only when
/// it changed.
pub(super) type CarriedRow<'a> = (&'a str, &'a str, Option<&'a str>);

/// Saves what sessions carry to the next node (their schedule, and their members when those
/// changed), in the caller's transaction: a group's in one statement per [`lease::RENEW_BATCH`]
/// of them. A row without a roster keeps the one stored. A session named twice keeps its last
/// schedule and its last roster (Postgres refuses to update a row twice in one statement).
pub(super) fn put_carried(db: &mut dyn Db, carried: &[CarriedRow<'_>]) -> Result<(), StoreError> {
    let mut last: Vec<CarriedRow<'_>> = Vec::with_capacity(carried.len());
    let mut at = HashMap::new();
    for &(s, data, roster) in carried {
        match at.get(s) {
            Some(&i) => {
                let row: &mut CarriedRow<'_> = &mut last[i];
                *row = (s, data, roster.or(row.2));
            }
            None => {
                at.insert(s, last.len());
                last.push((s, data, roster));
            }
        }
    }
    for chunk in last.chunks(lease::RENEW_BATCH) {
        let rows: Vec<String> =
            (0..chunk.len()).map(|i| format!("(?{}, ?{}, ?{})", 3 * i + 1, 3 * i + 2, 3 * i + 3)).collect();
        let sql = format!(
            "INSERT INTO carried (session, data, roster) VALUES {} ON CONFLICT(session) DO UPDATE SET \
             data = excluded.data, roster = COALESCE(excluded.roster, carried.roster)",
            rows.join(", ")
        );
        let params: Vec<V> = chunk
            .iter()
            .flat_map(|&(s, json, roster)| [V::from(s), V::from(json), roster.map_or(V::Null, V::from)])
            .collect();
        db.execute(&sql, &params)?;
    }
    Ok(())
}

pub(super) fn stored_session(r: sql::Row) -> Result<StoredSession, StoreError> {
    let mut next = columns(r);
    Ok(StoredSession {
        id: next().text()?,
        name: next().text()?,
        secret: next().text()?,
        leader_secret: next().opt_text_col()?,
        viewer_secret: next().opt_text_col()?,
        pin: next().opt_text_col()?,
    })
}

/// For tests: a SQLite store in a temp folder of its own (removed when this drops), holding
/// session `s`.
#[cfg(test)]
pub(crate) struct TestStore {
    pub store: std::sync::Arc<Store>,
    dir: std::path::PathBuf,
}

#[cfg(test)]
impl TestStore {
    pub(crate) fn new(tag: &str) -> Self {
        let dir = std::env::temp_dir().join(format!("bandsync-{tag}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let store = Store::open(&dir).unwrap();
        let row = StoredSession {
            id: "s".into(),
            name: "Gig".into(),
            secret: "k".repeat(32),
            leader_secret: None,
            viewer_secret: None,
            pin: None,
        };
        store.put_session(&row, 0).unwrap();
        TestStore { store: std::sync::Arc::new(store), dir }
    }
}

#[cfg(test)]
impl Drop for TestStore {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}
