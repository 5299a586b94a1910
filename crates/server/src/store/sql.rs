//! What the store asks of a database engine: statements with positional parameters (`?1`, `?2`,
//! ... in the one SQL text every engine runs), rows of plain values, and transactions. Every
//! query of the store is written once, over this; an engine only maps values and runs its own
//! schema.

use super::StoreError;

/// A parameter or a column value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum V {
    /// An integer (SQLite's INTEGER, Postgres's BIGINT, INTEGER or BOOLEAN).
    Int(i64),
    /// Text.
    Text(String),
    /// Bytes (BLOB, BYTEA).
    Bytes(Vec<u8>),
    /// SQL NULL.
    Null,
    /// A list of texts: a Postgres `text[]` (SQLite has no arrays: it gets the JSON array, for
    /// `json_each`). For statements whose text must not grow with their input.
    Texts(Vec<String>),
    /// A list of integers: a Postgres `bigint[]` (SQLite: the JSON array, as [`V::Texts`]).
    Ints(Vec<i64>),
}

impl V {
    /// Bytes of a blob or a text; 0 for the rest.
    #[must_use]
    pub fn size(&self) -> usize {
        match self {
            V::Text(t) => t.len(),
            V::Bytes(b) => b.len(),
            V::Texts(ts) => ts.iter().map(String::len).sum(),
            V::Int(_) | V::Null | V::Ints(_) => 0,
        }
    }

    /// An optional text.
    pub fn opt_text(t: Option<&str>) -> V {
        t.map_or(V::Null, |t| V::Text(t.to_owned()))
    }

    /// An integer column.
    pub fn int(&self) -> Result<i64, StoreError> {
        match self {
            V::Int(i) => Ok(*i),
            other => Err(StoreError::Corrupt(format!("expected an integer, found {other:?}"))),
        }
    }

    /// A nullable integer column.
    pub fn opt_int(&self) -> Result<Option<i64>, StoreError> {
        if *self == V::Null { Ok(None) } else { self.int().map(Some) }
    }

    /// A text column.
    pub fn text(self) -> Result<String, StoreError> {
        match self {
            V::Text(t) => Ok(t),
            other => Err(StoreError::Corrupt(format!("expected text, found {other:?}"))),
        }
    }

    /// A nullable text column.
    pub fn opt_text_col(self) -> Result<Option<String>, StoreError> {
        if self == V::Null { Ok(None) } else { self.text().map(Some) }
    }

    /// A bytes column.
    pub fn bytes(self) -> Result<Vec<u8>, StoreError> {
        match self {
            V::Bytes(b) => Ok(b),
            other => Err(StoreError::Corrupt(format!("expected bytes, found {other:?}"))),
        }
    }
}

impl From<&str> for V {
    fn from(s: &str) -> V {
        V::Text(s.to_owned())
    }
}

impl From<i64> for V {
    fn from(i: i64) -> V {
        V::Int(i)
    }
}

impl From<&[u8]> for V {
    fn from(b: &[u8]) -> V {
        V::Bytes(b.to_vec())
    }
}

/// The schema, written once for every engine: `int`, `bytes` and `serial` are the engine's words
/// for a 64-bit integer, a byte string, and an auto-numbered 64-bit primary key.
#[must_use]
pub fn schema(int: &str, bytes: &str, serial: &str) -> String {
    format!(
        "CREATE TABLE IF NOT EXISTS sessions (
            id TEXT PRIMARY KEY, name TEXT NOT NULL, secret TEXT NOT NULL, created {int} NOT NULL,
            leader_secret TEXT, viewer_secret TEXT, pin TEXT);
        CREATE TABLE IF NOT EXISTS doc_updates (seq {serial}, session TEXT NOT NULL, data {bytes} NOT NULL);
        CREATE INDEX IF NOT EXISTS doc_updates_session ON doc_updates(session, seq);
        CREATE TABLE IF NOT EXISTS doc_snapshots (
            session TEXT PRIMARY KEY, upto {int} NOT NULL, data {bytes} NOT NULL, gen {int},
            parts {int} NOT NULL DEFAULT 0);
        CREATE TABLE IF NOT EXISTS doc_snapshot_parts (
            session TEXT NOT NULL, gen {int} NOT NULL, idx {int} NOT NULL, data {bytes} NOT NULL,
            PRIMARY KEY (session, gen, idx));
        CREATE TABLE IF NOT EXISTS chat (
            session TEXT NOT NULL, id {int} NOT NULL, message TEXT NOT NULL, PRIMARY KEY (session, id));
        CREATE TABLE IF NOT EXISTS activity (
            session TEXT NOT NULL, id {int} NOT NULL, at {int} NOT NULL, kind TEXT NOT NULL,
            by {int}, summary TEXT NOT NULL, PRIMARY KEY (session, id));
        CREATE TABLE IF NOT EXISTS doc_versions (
            session TEXT NOT NULL, id {int} NOT NULL, at {int} NOT NULL, label TEXT NOT NULL,
            data {bytes} NOT NULL, named {int} NOT NULL DEFAULT 0, PRIMARY KEY (session, id));
        CREATE TABLE IF NOT EXISTS organizers (
            name TEXT PRIMARY KEY, token_sha256 TEXT NOT NULL UNIQUE, quota {int} NOT NULL,
            revoked {int} NOT NULL DEFAULT 0);
        CREATE TABLE IF NOT EXISTS session_owners (session TEXT PRIMARY KEY, organizer TEXT NOT NULL);
        CREATE TABLE IF NOT EXISTS leases (
            session TEXT PRIMARY KEY, node TEXT NOT NULL, token {int} NOT NULL, expires {int} NOT NULL,
            wanted_by TEXT, home TEXT, released {int} NOT NULL DEFAULT 0);
        CREATE TABLE IF NOT EXISTS carried (session TEXT PRIMARY KEY, data TEXT NOT NULL, roster TEXT);"
    )
}

/// Columns added after the first release, which a database made before gets when it opens:
/// (table, column, type; `{int}` is the engine's 64-bit integer).
pub const ADDED_COLUMNS: [(&str, &str, &str); 9] = [
    ("sessions", "leader_secret", "TEXT"),
    ("sessions", "viewer_secret", "TEXT"),
    ("sessions", "pin", "TEXT"),
    ("doc_versions", "named", "{int} NOT NULL DEFAULT 0"),
    // A snapshot in parts (`doc_snapshot_parts`, see `store/fold.rs`); `gen` NULL: in `data`.
    ("doc_snapshots", "gen", "{int}"),
    ("doc_snapshots", "parts", "{int} NOT NULL DEFAULT 0"),
    // The carried members apart from the rest (`put_carried`); NULL: in `data`, as before.
    ("carried", "roster", "TEXT"),
    // Where a session goes back to once its node is back, and whether its lease was given up
    // rather than run out (`store/take.rs`, `Store::claim_homes`).
    ("leases", "home", "TEXT"),
    ("leases", "released", "{int} NOT NULL DEFAULT 0"),
];

/// The condition of the leases held away from their home and not asked for yet, which the
/// partial index `leases_away` holds ([`ADDED_INDEXES`]). A statement reads them through it only
/// if it states this condition whole, as `ASKABLE` in `store/lease.rs` does: both engines'
/// planners match an index's condition term by term.
macro_rules! away {
    () => {
        "home <> node AND wanted_by IS NULL"
    };
}
pub(crate) use away;

/// Indexes made after [`ADDED_COLUMNS`] (one of them is on `home`): (name, what it indexes). An
/// index is found by its name alone: one whose definition changes needs a new name.
///
/// Both are partial, holding only the few rows a failover or a drain leaves: the leases held
/// away from their home and not asked for yet, and the asks. A node coming back asks for its
/// sessions 64 at a time ([`crate::store::Store::claim_homes`]) and counts what is left, and a
/// draining node withdraws its asks; each scanned every lease. On Postgres 15 with 100,000
/// leases, 100 of them away, the ask took 12.7 ms, the count 10.9 and a withdrawal with no asks
/// 7.0, and with the indexes 1.6, 0.13 and 0.12 (p50, `cargo bench -p bandsync-e2e --bench
/// lease_asks`, `docs/BENCHMARKS.md`). Renewals change no column these name (their conditions'
/// included), so Postgres still updates their rows in place (HOT); a take, an ask or a release
/// changes `node` or `wanted_by`, and adds an entry to every index of the table.
pub const ADDED_INDEXES: [(&str, &str); 2] = [
    ("leases_away", concat!("leases(home, session) WHERE ", away!())),
    ("leases_wanted", "leases(wanted_by) WHERE wanted_by IS NOT NULL"),
];

/// The statement that makes index `name` on `on` ([`ADDED_INDEXES`]) unless it exists.
#[must_use]
pub fn create_index((name, on): (&str, &str)) -> String {
    format!("CREATE INDEX IF NOT EXISTS {name} ON {on}")
}

/// One row of a result, its columns in order.
pub type Row = Vec<V>;

/// A database engine.
pub trait Db: Send + std::fmt::Debug {
    /// Runs a statement; the number of rows it changed.
    ///
    /// # Errors
    /// The engine's.
    fn execute(&mut self, sql: &str, params: &[V]) -> Result<u64, StoreError>;

    /// Runs a query; its rows.
    ///
    /// # Errors
    /// The engine's.
    fn query(&mut self, sql: &str, params: &[V]) -> Result<Vec<Row>, StoreError>;

    /// Runs statements without parameters (`BEGIN`, `COMMIT`, schema).
    ///
    /// # Errors
    /// The engine's.
    fn batch(&mut self, sql: &str) -> Result<(), StoreError>;

    /// Which engine, for messages.
    fn engine(&self) -> &'static str;

    /// Whether the engine locks rows, and takes `FOR UPDATE` and `FOR KEY SHARE` (Postgres),
    /// rather than the whole database for a write (SQLite).
    fn locks_rows(&self) -> bool {
        false
    }
}

/// Runs `f` in a transaction: committed when it returns `Ok`, rolled back otherwise (a panic
/// included, which then goes on).
///
/// # Errors
/// `f`'s, or the engine's.
pub fn transaction<T>(db: &mut dyn Db, f: impl FnOnce(&mut dyn Db) -> Result<T, StoreError>) -> Result<T, StoreError> {
    db.batch("BEGIN")?;
    // A panic in `f` rolls back too: the store's lock does not poison, and a transaction left
    // open would fail every later BEGIN (SQLite), or be committed by the next caller (Postgres).
    match std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| f(&mut *db))) {
        Ok(Ok(v)) => match db.batch("COMMIT") {
            Ok(()) => Ok(v),
            // A COMMIT that fails can leave the transaction open (SQLite keeps it after a
            // deferred constraint fails, or SQLITE_BUSY): every later BEGIN would fail.
            Err(e) => {
                let _ = db.batch("ROLLBACK");
                Err(e)
            }
        },
        Ok(Err(e)) => {
            let _ = db.batch("ROLLBACK");
            Err(e)
        }
        Err(panic) => {
            let _ = db.batch("ROLLBACK");
            std::panic::resume_unwind(panic)
        }
    }
}

/// A row's columns in order, one per call (NULL past the last): `let mut next = columns(row);`.
pub fn columns(row: Row) -> impl FnMut() -> V {
    let mut c = row.into_iter();
    move || c.next().unwrap_or(V::Null)
}

/// `?from, ?from+1, …`: `n` numbered parameters, for an `IN (…)` list.
#[must_use]
pub fn numbered(from: usize, n: usize) -> String {
    (from..from + n).map(|i| format!("?{i}")).collect::<Vec<_>>().join(", ")
}

/// The first column of the first row, if any.
///
/// # Errors
/// The engine's.
pub fn one(db: &mut dyn Db, sql: &str, params: &[V]) -> Result<Option<V>, StoreError> {
    Ok(db.query(sql, params)?.into_iter().next().and_then(|r| r.into_iter().next()))
}
