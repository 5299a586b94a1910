//! The shared engine: Postgres, for `bandsync serve --database postgres://…` and several nodes.
//!
//! The client is the blocking `postgres` crate, on a thread of its own: a caller (a session task
//! on a tokio worker, like SQLite's callers) hands it a statement and waits for the answer, so a
//! statement is committed (Postgres's default `synchronous_commit = on`: flushed to its WAL)
//! before anyone is told. A lost connection is opened again for the next statement.
//!
//! A database that stops answering (a partition that drops nothing, a server that hangs) is given
//! [`Postgres::answer_within`] for each statement. Past it, the caller is told the statement's
//! outcome is unknown, and the connection is given up with its thread, which stays blocked until
//! its socket fails; the next statement opens a new one. Without this, every later statement
//! queued behind the blocked one, and a node cut off from the database stayed out of service
//! after the database came back. The server is told the same limits (`statement_timeout`,
//! `idle_in_transaction_session_timeout`): a transaction whose node went quiet in the middle of
//! it is rolled back, and the rows it locked (a session's lease among them) are free for the next
//! node rather than locked for as long as the dead connection stays open.

use super::StoreError;
use super::sql::{Db, Row, V};
use postgres::types::{ToSql, Type};
use postgres::{Client, NoTls, Statement};
use std::collections::HashMap;
use std::sync::mpsc;
use std::time::Duration;

/// How long a statement may go unanswered by default (see [`Postgres::answer_within`]).
pub const ANSWER_WITHIN: Duration = Duration::from_secs(10);

/// Nodes creating the schema at once take turns under this advisory lock.
const SCHEMA_LOCK: i64 = 0x6261_6e64;

/// The connection thread's side: the client and its prepared statements.
struct Conn {
    config: postgres::Config,
    client: Option<Client>,
    statements: HashMap<String, Statement>,
}

type Job = Box<dyn FnOnce(&mut Conn) + Send>;

/// A Postgres database.
#[derive(Debug)]
pub struct Postgres {
    config: postgres::Config,
    jobs: mpsc::Sender<Job>,
    answer_within: Duration,
    /// A transaction is open (`BEGIN` was sent, not yet `COMMIT` or `ROLLBACK`).
    in_transaction: bool,
    /// The connection of the open transaction was given up: its statements so far are lost with
    /// it, so every statement until its `ROLLBACK` is refused (sent on the next connection, they
    /// would run outside any transaction, and `COMMIT` would seem to succeed).
    transaction_lost: bool,
}

fn err(e: &postgres::Error) -> StoreError {
    // The server's own message (a constraint, a missing table) where it sent one.
    let detail = e.as_db_error().map_or_else(|| e.to_string(), |d| d.message().to_owned());
    StoreError::Engine(format!("postgres: {detail}"))
}

impl Conn {
    fn client(&mut self) -> Result<&mut Client, StoreError> {
        if self.client.as_ref().is_none_or(Client::is_closed) {
            self.statements.clear();
            self.client = Some(self.config.connect(NoTls).map_err(|e| err(&e))?);
        }
        Ok(self.client.as_mut().expect("just connected"))
    }

    /// `r`, the outcome of a call on the client. A connection that failed (closed, an error that
    /// is not the server's answer: the socket broke, the server was killed; or a FATAL or PANIC
    /// answer, which ends the session) is dropped with its statements, so the next call opens a
    /// new one. Left in place, a broken connection the client had not yet noticed failed the next
    /// call too, after the server was back (seen once more in CI after the server's kill -9; the
    /// FATAL case is the one path left that kept such a connection).
    fn settle<T>(&mut self, r: Result<T, postgres::Error>) -> Result<T, StoreError> {
        let fatal = |e: &postgres::Error| e.as_db_error().is_none_or(|d| matches!(d.severity(), "FATAL" | "PANIC"));
        let broken = self.client.as_ref().is_some_and(Client::is_closed) || r.as_ref().is_err_and(fatal);
        if broken {
            self.client = None;
            self.statements.clear();
        }
        r.map_err(|e| err(&e))
    }

    fn statement(&mut self, sql: &str) -> Result<Statement, StoreError> {
        if let Some(s) = self.statements.get(sql) {
            return Ok(s.clone());
        }
        // The store's SQL numbers its parameters `?1`; Postgres's are `$1`.
        let pg = sql.replace('?', "$");
        let prepared = self.client()?.prepare(&pg);
        let s = self.settle(prepared)?;
        self.statements.insert(sql.to_owned(), s.clone());
        Ok(s)
    }

    fn run<T>(
        &mut self,
        sql: &str,
        params: &[V],
        f: impl FnOnce(&mut Client, &Statement, &[&(dyn ToSql + Sync)]) -> Result<T, postgres::Error>,
    ) -> Result<T, StoreError> {
        let st = self.statement(sql)?;
        let bound = bind(st.params(), params)?;
        let refs: Vec<&(dyn ToSql + Sync)> = bound.iter().map(|b| b.as_ref() as &(dyn ToSql + Sync)).collect();
        let out = f(self.client()?, &st, &refs);
        self.settle(out)
    }
}

/// The parameters as the statement's types want them.
fn bind(types: &[Type], params: &[V]) -> Result<Vec<Box<dyn ToSql + Sync + Send>>, StoreError> {
    if types.len() != params.len() {
        return Err(StoreError::Engine(format!("postgres: {} parameters for {}", params.len(), types.len())));
    }
    let narrow = |i: i64| StoreError::Engine(format!("postgres: {i} does not fit the column"));
    types
        .iter()
        .zip(params)
        .map(|(t, v)| -> Result<Box<dyn ToSql + Sync + Send>, StoreError> {
            Ok(match (v, t) {
                (V::Int(i), &Type::INT4) => Box::new(i32::try_from(*i).map_err(|_| narrow(*i))?),
                (V::Int(i), &Type::INT2) => Box::new(i16::try_from(*i).map_err(|_| narrow(*i))?),
                (V::Int(i), &Type::BOOL) => Box::new(*i != 0),
                (V::Int(i), _) => Box::new(*i),
                (V::Text(s), _) => Box::new(s.clone()),
                (V::Bytes(b), _) => Box::new(b.clone()),
                (V::Texts(ts), _) => Box::new(ts.clone()),
                (V::Ints(is), _) => Box::new(is.clone()),
                (V::Null, &Type::INT8) => Box::new(None::<i64>),
                (V::Null, &Type::INT4) => Box::new(None::<i32>),
                (V::Null, &Type::BYTEA) => Box::new(None::<Vec<u8>>),
                (V::Null, _) => Box::new(None::<String>),
            })
        })
        .collect()
}

fn row(r: &postgres::Row) -> Result<Row, StoreError> {
    let get = |i: usize, t: &Type| -> Result<V, postgres::Error> {
        Ok(match *t {
            Type::INT8 => r.try_get::<_, Option<i64>>(i)?.map_or(V::Null, V::Int),
            Type::INT4 => r.try_get::<_, Option<i32>>(i)?.map_or(V::Null, |x| V::Int(x.into())),
            Type::INT2 => r.try_get::<_, Option<i16>>(i)?.map_or(V::Null, |x| V::Int(x.into())),
            Type::BOOL => r.try_get::<_, Option<bool>>(i)?.map_or(V::Null, |x| V::Int(x.into())),
            Type::BYTEA => r.try_get::<_, Option<Vec<u8>>>(i)?.map_or(V::Null, V::Bytes),
            _ => r.try_get::<_, Option<String>>(i)?.map_or(V::Null, V::Text),
        })
    };
    r.columns().iter().enumerate().map(|(i, c)| get(i, c.type_()).map_err(|e| err(&e))).collect()
}

impl Postgres {
    /// Connects to `url` (`postgres://user@host:port/db` or `host=… user=…`) and creates the
    /// schema if it is not there.
    ///
    /// # Errors
    /// When the server cannot be reached, refuses the login, or refuses the schema.
    pub fn connect(url: &str) -> Result<Self, StoreError> {
        Postgres::connect_within(url, ANSWER_WITHIN)
    }

    /// As [`Postgres::connect`], giving each statement `answer_within` (see [`Postgres::answer_within`]).
    ///
    /// # Errors
    /// A URL that does not parse, and as [`Postgres::connect`].
    pub fn connect_within(url: &str, answer_within: Duration) -> Result<Self, StoreError> {
        let mut config: postgres::Config =
            url.parse().map_err(|e: postgres::Error| StoreError::Engine(format!("postgres: {url}: {e}")))?;
        // The server ends what goes on longer than the client waits, so that its answer (an
        // error, on a connection that stays) normally comes first.
        let limit = answer_within.as_millis();
        let options = format!("-c statement_timeout={limit} -c idle_in_transaction_session_timeout={limit}");
        let options = config.get_options().map_or(options.clone(), |o| format!("{o} {options}"));
        // A peer that stops acknowledging (a real partition) fails the socket after as long.
        config.options(&options).connect_timeout(answer_within).tcp_user_timeout(answer_within);
        let mut pg = Postgres {
            jobs: start(config.clone())?,
            config,
            answer_within: answer_within + Duration::from_secs(1),
            in_transaction: false,
            transaction_lost: false,
        };
        pg.call(|c| c.client().map(drop))?;
        pg.make_schema()?;
        Ok(pg)
    }

    /// Makes what the database lacks of the schema: every table and index, the columns added
    /// since a database was first made ([`super::sql::ADDED_COLUMNS`]), and their indexes
    /// ([`super::sql::ADDED_INDEXES`]). Only what is missing: `ALTER TABLE` takes its table
    /// whole even to add a column already there, and `CREATE INDEX` waits for the table's
    /// writes, so a node (or one of its connections) opening a database already made held up
    /// every other node's renewals and writes behind it, and waited for their transactions.
    /// Under a lock of its own, in one transaction: a node opening the database at the same time
    /// waits, then finds it made.
    fn make_schema(&mut self) -> Result<(), StoreError> {
        let schema = super::sql::schema("BIGINT", "BYTEA", "BIGSERIAL PRIMARY KEY");
        // The tables and indexes it makes, by name, read from its own text.
        let made: Vec<String> = schema
            .split("IF NOT EXISTS ")
            .skip(1)
            .filter_map(|s| s.split_whitespace().next())
            .map(str::to_owned)
            .collect();
        let (tables, columns): (Vec<String>, Vec<String>) =
            super::sql::ADDED_COLUMNS.iter().map(|(t, c, _)| ((*t).to_owned(), (*c).to_owned())).unzip();
        super::sql::transaction(self, |tx| {
            tx.batch(&format!(
                "SET LOCAL client_min_messages = warning; SELECT pg_advisory_xact_lock({SCHEMA_LOCK});"
            ))?;
            // Which of the tables and indexes `names` the database lacks.
            let missing = |tx: &mut dyn Db, names: Vec<String>| -> Result<Vec<String>, StoreError> {
                let rows = tx.query(
                    "SELECT m.name FROM unnest(?1::text[]) AS m(name) WHERE to_regclass(m.name) IS NULL",
                    &[V::Texts(names)],
                )?;
                rows.into_iter().map(|r| r[0].clone().text()).collect()
            };
            if !missing(tx, made)?.is_empty() {
                tx.batch(&schema)?;
            }
            let absent = tx.query(
                "SELECT a.t, a.c FROM unnest(?1::text[], ?2::text[]) AS a(t, c) WHERE NOT EXISTS (
                     SELECT 1 FROM information_schema.columns i
                     WHERE i.table_schema = current_schema() AND i.table_name = a.t AND i.column_name = a.c)",
                &[V::Texts(tables), V::Texts(columns)],
            )?;
            for row in absent {
                let (t, c) = (row[0].clone().text()?, row[1].clone().text()?);
                let kind =
                    super::sql::ADDED_COLUMNS.iter().find(|(at, ac, _)| *at == t && *ac == c).map_or("", |a| a.2);
                tx.batch(&format!("ALTER TABLE {t} ADD COLUMN IF NOT EXISTS {c} {}", kind.replace("{int}", "BIGINT")))?;
            }
            let indexes = super::sql::ADDED_INDEXES;
            for name in missing(tx, indexes.iter().map(|(n, _)| (*n).to_owned()).collect())? {
                if let Some(&index) = indexes.iter().find(|(n, _)| *n == name) {
                    tx.batch(&super::sql::create_index(index))?;
                }
            }
            Ok(())
        })
    }

    /// How long a statement is waited for before the connection is given up (a second more
    /// than the server's own limits on it).
    #[must_use]
    pub fn answer_within(&self) -> Duration {
        self.answer_within
    }

    fn call<T: Send + 'static>(
        &mut self,
        f: impl FnOnce(&mut Conn) -> Result<T, StoreError> + Send + 'static,
    ) -> Result<T, StoreError> {
        let (tx, rx) = mpsc::sync_channel(1);
        let gone = || StoreError::Engine("postgres: the connection's thread ended".into());
        let sent = self.jobs.send(Box::new(move |c| drop(tx.send(f(c)))));
        let answer = sent.map_err(|_| None).and_then(|()| rx.recv_timeout(self.answer_within).map_err(Some));
        if answer.is_err() {
            // The connection's thread ended (a job panicked), or stays blocked in the client
            // until the socket fails, then ends (its queue is gone with this sender): the next
            // statement gets a new one, and the transaction open on this one is lost.
            self.transaction_lost = self.in_transaction;
            self.jobs = start(self.config.clone())?;
        }
        match answer {
            Ok(r) => r,
            Err(Some(mpsc::RecvTimeoutError::Timeout)) => Err(StoreError::Engine(format!(
                "postgres: no answer within {:?}; the connection was given up, and what it was doing may or may not have been done",
                self.answer_within
            ))),
            Err(_) => Err(gone()),
        }
    }

    /// Follows the transaction `sql` begins or ends, and says whether it begins one; refuses
    /// `sql` if its transaction was lost.
    fn track(&mut self, sql: &str) -> Result<bool, StoreError> {
        // Compared in place: every statement passes here, some of them kilobytes long.
        let word = sql.trim().trim_end_matches(';').trim_end();
        let is = |w: &str| word.eq_ignore_ascii_case(w);
        let lost = self.transaction_lost;
        if is("COMMIT") || is("ROLLBACK") {
            self.in_transaction = false;
            self.transaction_lost = false;
        } else if is("BEGIN") {
            self.in_transaction = true;
        }
        if lost && !is("ROLLBACK") {
            return Err(StoreError::Engine(
                "postgres: the transaction's connection was given up; it is rolled back".into(),
            ));
        }
        Ok(is("BEGIN"))
    }
}

/// The connection's thread: every client call happens on it, outside any async runtime (the
/// blocking client runs one of its own inside).
fn start(config: postgres::Config) -> Result<mpsc::Sender<Job>, StoreError> {
    let (jobs, rx) = mpsc::channel::<Job>();
    let mut conn = Conn { config, client: None, statements: HashMap::new() };
    std::thread::Builder::new()
        .name("bandsync-postgres".into())
        .spawn(move || {
            for job in rx {
                job(&mut conn);
            }
        })
        .map_err(|e| StoreError::Engine(format!("postgres: cannot start its thread: {e}")))?;
    Ok(jobs)
}

impl Db for Postgres {
    fn execute(&mut self, sql: &str, params: &[V]) -> Result<u64, StoreError> {
        self.track(sql)?;
        let (sql, params) = (sql.to_owned(), params.to_vec());
        self.call(move |c| c.run(&sql, &params, |cl, st, p| cl.execute(st, p)))
    }

    fn query(&mut self, sql: &str, params: &[V]) -> Result<Vec<Row>, StoreError> {
        self.track(sql)?;
        let (sql, params) = (sql.to_owned(), params.to_vec());
        self.call(move |c| c.run(&sql, &params, |cl, st, p| cl.query(st, p))?.iter().map(row).collect())
    }

    fn batch(&mut self, sql: &str) -> Result<(), StoreError> {
        let begins = self.track(sql)?;
        let owned = sql.to_owned();
        let done = self.call(move |c| {
            let done = c.client()?.batch_execute(&owned);
            c.settle(done)
        });
        if begins && done.is_err() {
            // No transaction began (its caller sends no ROLLBACK): nothing of one is left to fail.
            self.in_transaction = false;
            self.transaction_lost = false;
        }
        done
    }

    fn engine(&self) -> &'static str {
        "postgres"
    }

    fn locks_rows(&self) -> bool {
        true
    }
}
