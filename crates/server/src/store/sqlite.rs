//! The embedded engine: SQLite (bundled), WAL mode with `synchronous=FULL`, so a statement is on
//! disk when it returns, and the log checkpointed by a thread of its own (`checkpoint.rs`). The
//! default for `bandsync host` and the app.

use super::StoreError;
use super::checkpoint::Checkpoints;
use super::sql::{Db, Row, V};
use rusqlite::Connection;
use rusqlite::types::{Value, ValueRef};
use std::path::Path;

/// A SQLite database.
#[derive(Debug)]
pub struct Sqlite {
    conn: Connection,
    /// The writer's: a reader checkpoints nothing.
    checkpoints: Option<Checkpoints>,
}

impl Sqlite {
    /// Opens (creating if needed) `DIR/bandsync.sqlite3`, with its schema.
    ///
    /// # Errors
    /// When the directory or database cannot be created or opened.
    pub fn open(dir: &Path) -> Result<Self, StoreError> {
        std::fs::create_dir_all(dir).map_err(|e| StoreError::Dir(dir.display().to_string(), e))?;
        let path = dir.join("bandsync.sqlite3");
        let conn = Connection::open(&path).map_err(err)?;
        conn.pragma_update(None, "journal_mode", "WAL").map_err(err)?;
        conn.pragma_update(None, "synchronous", "FULL").map_err(err)?;
        // Checkpoints are the checkpoint thread's (`checkpoint.rs`); this connection makes one
        // only past the safety net.
        conn.pragma_update(None, "wal_autocheckpoint", super::checkpoint::SAFETY_NET_PAGES).map_err(err)?;
        conn.execute_batch(&super::sql::schema("INTEGER", "BLOB", "INTEGER PRIMARY KEY AUTOINCREMENT")).map_err(err)?;
        // Added after the first release: a database from before gets the columns, then their
        // indexes.
        for (table, column, kind) in super::sql::ADDED_COLUMNS {
            let has = conn
                .prepare(&format!("SELECT 1 FROM pragma_table_info('{table}') WHERE name = ?1"))
                .and_then(|mut q| q.exists([column]))
                .map_err(err)?;
            if !has {
                let kind = kind.replace("{int}", "INTEGER");
                conn.execute_batch(&format!("ALTER TABLE {table} ADD COLUMN {column} {kind}")).map_err(err)?;
            }
        }
        for index in super::sql::ADDED_INDEXES {
            conn.execute_batch(&super::sql::create_index(index)).map_err(err)?;
        }
        Ok(Sqlite { conn, checkpoints: Some(Checkpoints::start(path)) })
    }

    /// A second connection to the database [`Sqlite::open`] made, for reads only: in WAL mode
    /// it reads while the writer's connection waits for the disk or holds a transaction, so a
    /// session's read (a page of its activity, a version's data) never queues behind its own
    /// appends (`crate::appends`).
    ///
    /// # Errors
    /// When the database cannot be opened.
    pub fn reader(dir: &Path) -> Result<Self, StoreError> {
        let conn = Connection::open(dir.join("bandsync.sqlite3")).map_err(err)?;
        conn.pragma_update(None, "query_only", true).map_err(err)?;
        Ok(Sqlite { conn, checkpoints: None })
    }
}

fn err(e: rusqlite::Error) -> StoreError {
    StoreError::Engine(format!("sqlite: {e}"))
}

fn value(v: &V) -> Value {
    match v {
        V::Int(i) => Value::Integer(*i),
        V::Text(t) => Value::Text(t.clone()),
        V::Bytes(b) => Value::Blob(b.clone()),
        V::Null => Value::Null,
        V::Texts(ts) => Value::Text(serde_json::to_string(ts).unwrap_or_default()),
        V::Ints(is) => Value::Text(serde_json::to_string(is).unwrap_or_default()),
    }
}

impl Db for Sqlite {
    fn execute(&mut self, sql: &str, params: &[V]) -> Result<u64, StoreError> {
        let n = self.conn.execute(sql, rusqlite::params_from_iter(params.iter().map(value))).map_err(err)?;
        if let Some(c) = &mut self.checkpoints {
            c.wrote(params.iter().map(V::size).sum());
        }
        Ok(n as u64)
    }

    fn query(&mut self, sql: &str, params: &[V]) -> Result<Vec<Row>, StoreError> {
        let mut q = self.conn.prepare_cached(sql).map_err(err)?;
        let n = q.column_count();
        let rows = q
            .query_map(rusqlite::params_from_iter(params.iter().map(value)), |r| {
                (0..n)
                    .map(|i| {
                        Ok(match r.get_ref(i)? {
                            ValueRef::Integer(i) => V::Int(i),
                            ValueRef::Real(f) => V::Int(f as i64),
                            ValueRef::Text(t) => V::Text(String::from_utf8_lossy(t).into_owned()),
                            ValueRef::Blob(b) => V::Bytes(b.to_vec()),
                            ValueRef::Null => V::Null,
                        })
                    })
                    .collect::<Result<Row, rusqlite::Error>>()
            })
            .map_err(err)?;
        rows.collect::<Result<_, _>>().map_err(err)
    }

    fn batch(&mut self, sql: &str) -> Result<(), StoreError> {
        self.conn.execute_batch(sql).map_err(err)?;
        if let (Some(c), "COMMIT") = (&mut self.checkpoints, sql) {
            c.committed();
        }
        Ok(())
    }

    fn engine(&self) -> &'static str {
        "sqlite"
    }
}

#[cfg(test)]
mod tests {
    use super::Sqlite;
    use crate::store::sql::{Db, V, transaction};
    use std::time::{Duration, Instant};

    /// A list parameter reaches SQLite as its JSON array, which `json_each` reads back.
    #[test]
    fn a_list_parameter_is_a_json_array() {
        let dir = std::env::temp_dir().join(format!("bandsync-lists-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let mut db = Sqlite::open(&dir).unwrap();
        let texts = V::Texts(vec!["a\"b".into(), "c".into()]);
        let rows = db.query("SELECT value FROM json_each(?1) ORDER BY key", &[texts]).unwrap();
        assert_eq!(rows, [vec![V::Text("a\"b".into())], vec![V::Text("c".into())]]);
        let rows = db.query("SELECT SUM(value) FROM json_each(?1)", &[V::Ints(vec![2, 40])]).unwrap();
        assert_eq!(rows, [vec![V::Int(42)]]);
        drop(db);
        let _ = std::fs::remove_dir_all(&dir);
    }

    /// The checkpoint thread (`checkpoint.rs`) this store starts copies the log into the
    /// database, not the writer.
    #[test]
    fn the_log_is_copied_into_the_database_by_the_thread_not_the_writer() {
        let dir = std::env::temp_dir().join(format!("bandsync-checkpoint-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let mut db = Sqlite::open(&dir).unwrap();
        let file = dir.join("bandsync.sqlite3");
        let before = std::fs::metadata(&file).unwrap().len();
        let mib = 1 << 20;
        transaction(&mut db, |tx| {
            tx.execute("INSERT INTO doc_updates (session, data) VALUES ('s', ?1)", &[V::Bytes(vec![7; mib])])
        })
        .unwrap();
        // In WAL mode the database file takes the pages only at a checkpoint; the writer's own
        // connection makes none under its safety net (64 MiB), so the thread did.
        let deadline = Instant::now() + Duration::from_secs(10);
        while std::fs::metadata(&file).unwrap().len() < before + mib as u64 {
            assert!(Instant::now() < deadline, "not checkpointed in 10 s");
            std::thread::sleep(Duration::from_millis(20));
        }
        drop(db);
        let _ = std::fs::remove_dir_all(&dir);
    }

    /// A COMMIT that fails (here a deferred constraint, checked at COMMIT) leaves SQLite's
    /// transaction open: it is rolled back, and the next transaction runs.
    #[test]
    fn a_transaction_whose_commit_fails_is_rolled_back_and_the_next_one_runs() {
        let dir = std::env::temp_dir().join(format!("bandsync-commit-fails-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let mut db = Sqlite::open(&dir).unwrap();
        db.batch(
            "PRAGMA foreign_keys = ON;
             CREATE TABLE p (id INTEGER PRIMARY KEY);
             CREATE TABLE c (p INTEGER REFERENCES p(id) DEFERRABLE INITIALLY DEFERRED);",
        )
        .unwrap();
        let orphan = transaction(&mut db, |db| db.execute("INSERT INTO c VALUES (?1)", &[V::Int(1)]));
        assert!(orphan.is_err_and(|e| e.to_string().contains("FOREIGN KEY")), "the COMMIT fails");
        let count = |db: &mut Sqlite| db.query("SELECT COUNT(*) FROM c", &[]).unwrap()[0][0].clone();
        assert!(matches!(count(&mut db), V::Int(0)), "nothing of it stays");
        transaction(&mut db, |db| db.execute("INSERT INTO p VALUES (?1)", &[V::Int(1)])).expect("the next one runs");
        let _ = std::fs::remove_dir_all(&dir);
    }
}
