//! Taking leases ([`Store::take_lease`]): one, or many at once for a node taking over a dead
//! node's sessions, each once, on Postgres passing over rows another transaction holds.

use super::lease::Lease;
use super::sql::{self, Db, V, columns};
use super::{Store, StoreError};
use std::collections::{HashMap, HashSet};

/// The take of `sessions` (each once) for `node`, in one statement: their sessions and tokens.
///
/// `session = excluded.session` changes nothing, but names the row's key among what the update
/// sets, so that Postgres locks a row the statement finds already there `FOR UPDATE` (else
/// `FOR NO KEY UPDATE`, which does not wait for a write's fencing check, `FOR KEY SHARE`). The
/// rows [`Store::take_leases_unless`] locks first are the take's already; this is for a row that
/// was not there when it looked, made by another node's take and checked by its write since.
///
/// `home` is the node a session goes back to once that node is back ([`Store::claim_homes`]).
/// A lease that ran out on its holder (killed, or cut off from the database) makes the holder
/// the session's home, unless it had one already: the proxy's consistent hash sends the
/// session's members back to that node once its checks bring it in again. A lease given up
/// (`released`: a hand-over, a drain, a new session handed on) keeps the home it had (a drain
/// makes its node the home unless it had one: `Store::release_lease_to_come_back`). A node the
/// session's members were sent to is its home from then on: the node that asked for it
/// (`wanted_by`), or any node that takes it after a release while a node asked for it, such as
/// its holder taking it again when its members came back to it. So a node asks for a session
/// once: it moves, or its home is where the proxy sends its members. A node taking its own
/// lease again (a restart) keeps the home as it was (the `ELSE`, less itself).
const TAKE: &str = "ON CONFLICT(session) DO UPDATE SET session = excluded.session, node = excluded.node,
         token = leases.token + 1, expires = excluded.expires, wanted_by = NULL, released = 0,
         home = NULLIF(CASE WHEN leases.wanted_by IS NOT NULL AND (leases.released <> 0 OR leases.wanted_by = excluded.node) THEN NULL
             WHEN leases.released <> 0 THEN leases.home
             ELSE COALESCE(leases.home, leases.node) END, excluded.node)
     WHERE leases.expires < ?3 OR leases.node = ?1
     RETURNING session, token";

/// The take's one statement alone, without the locks [`Store::take_leases_unless`] takes
/// first: the rows of `sessions` it took for `node` (session, token). Public so that a test can
/// show what the statement itself waits for; a node takes leases through the store.
///
/// # Errors
/// On a database error.
pub fn statement(
    db: &mut dyn Db,
    sessions: &[&str],
    node: &str,
    expires_ms: i64,
    now_ms: i64,
) -> Result<Vec<sql::Row>, StoreError> {
    if sessions.is_empty() {
        return Ok(Vec::new());
    }
    let rows = (0..sessions.len()).map(|i| format!("(?{}, ?1, 1, ?2)", i + 4)).collect::<Vec<_>>().join(", ");
    let mut params: Vec<V> = vec![node.into(), expires_ms.into(), now_ms.into()];
    params.extend(sessions.iter().map(|&s| V::from(s)));
    db.query(&format!("INSERT INTO leases (session, node, token, expires) VALUES {rows} {TAKE}"), &params)
}

impl Store {
    /// Takes `session`'s lease for `node` until `now_ms + ttl_ms`, if it is free, expired, or
    /// `node`'s already (a restarted node fences its former self: the token rises either way).
    /// `None` while another node holds it. Writes for the session are fenced by it from now on.
    ///
    /// On Postgres it is taken on the reader connection: a node taking over hundreds of sessions
    /// waited for each take behind its group commits on the writers' (p50 20 ms a take, most of
    /// a load, at 5,500 members). None of this node's group commits holds the lease's row (the
    /// session does not run here); one of another node's may, and the take waits for that write.
    ///
    /// # Errors
    /// On a database error.
    pub fn take_lease(&self, session: &str, node: &str, now_ms: i64, ttl_ms: i64) -> Result<Option<Lease>, StoreError> {
        self.take_lease_unless(session, node, now_ms, ttl_ms, &|| false)
    }

    /// [`Store::take_lease`], unless `gave_up` says so once the connection the take goes on is
    /// the caller's: a node's load whose member stopped waiting while the database did not answer
    /// takes nothing (`None`) when it answers.
    ///
    /// # Errors
    /// On a database error.
    pub fn take_lease_unless(
        &self,
        session: &str,
        node: &str,
        now_ms: i64,
        ttl_ms: i64,
        gave_up: &dyn Fn() -> bool,
    ) -> Result<Option<Lease>, StoreError> {
        Ok(self.take_leases_unless(&[session], node, now_ms, ttl_ms, &|_| gave_up())?.remove(session))
    }

    /// [`Store::take_lease`] for each of `sessions`, but those `gave_up` names once the
    /// connection the take goes on is the caller's: the leases taken, by session. A node taking
    /// over a dead node's sessions takes all those its members have reached so far together,
    /// rather than one statement (and one round trip on a busy machine) each.
    ///
    /// One statement takes them all, each once. On Postgres, where another node's group commit
    /// may hold some of their rows (a node that lost its leases, still writing until it hears),
    /// and lock them in another order than this statement would, the rows held are passed over
    /// first (`FOR UPDATE SKIP LOCKED`, in the take's transaction) and each then taken in a
    /// transaction of its own, which waits for that one row and holds no other: no lock cycle.
    ///
    /// # Errors
    /// On a database error in the statement that takes them all (then none is taken); a
    /// passed-over lease whose own take fails is left untaken, and logged.
    pub fn take_leases_unless(
        &self,
        sessions: &[&str],
        node: &str,
        now_ms: i64,
        ttl_ms: i64,
        gave_up: &dyn Fn(&str) -> bool,
    ) -> Result<HashMap<String, Lease>, StoreError> {
        let expires_ms = now_ms + ttl_ms;
        let mut db = if self.apart() { self.reader() } else { self.db() };
        let mut wanted: Vec<&str> = sessions.iter().copied().filter(|s| !gave_up(s)).collect();
        wanted.sort_unstable();
        wanted.dedup();
        if wanted.is_empty() {
            return Ok(HashMap::new());
        }
        let mut rows = Vec::new();
        // By the engine, as a write's fencing check decides its lock (`lease::check_writes`), not
        // by how the store was opened: a Postgres store without its own renewals connection must
        // lock its takes `FOR UPDATE` too, or a write's `FOR KEY SHARE` would fence nothing.
        if db.locks_rows() {
            let passed_over = sql::transaction(&mut **db, |tx| {
                let listed = sql::numbered(1, wanted.len());
                let ids: Vec<V> = wanted.iter().map(|&s| V::from(s)).collect();
                let text = |rows: Vec<sql::Row>| -> Result<HashSet<String>, StoreError> {
                    rows.into_iter().map(|r| columns(r)().text()).collect()
                };
                let stored = text(tx.query(&format!("SELECT session FROM leases WHERE session IN ({listed})"), &ids)?)?;
                // `FOR UPDATE`: it waits for (here, passes over) the rows a write's fencing check
                // holds (`FOR KEY SHARE`, `lease::check_writes`), which the take's own update
                // (not of the key) would not wait for.
                let locked = text(tx.query(
                    &format!("SELECT session FROM leases WHERE session IN ({listed}) FOR UPDATE SKIP LOCKED"),
                    &ids,
                )?)?;
                let (now, later): (Vec<&str>, Vec<&str>) =
                    wanted.iter().partition(|&&s| !stored.contains(s) || locked.contains(s));
                rows = statement(tx, &now, node, expires_ms, now_ms)?;
                Ok(later)
            })?;
            for s in passed_over {
                if gave_up(s) {
                    continue;
                }
                // The others are taken and committed: a failure here (the row's holder did not
                // let go within the statement's time) costs this session's take only. Its row
                // locked `FOR UPDATE` first, which waits for a write's fencing check.
                let one = sql::transaction(&mut **db, |tx| {
                    tx.query("SELECT session FROM leases WHERE session = ?1 FOR UPDATE", &[V::from(s)])?;
                    statement(tx, &[s], node, expires_ms, now_ms)
                });
                match one {
                    Ok(taken) => rows.extend(taken),
                    Err(e) => tracing::warn!(session = s, "lease not taken: {e}"),
                }
            }
        } else {
            rows = statement(&mut **db, &wanted, node, expires_ms, now_ms)?;
        }
        drop(db);
        let mut taken = HashMap::new();
        for r in rows {
            let mut next = columns(r);
            let (session, token) = (next().text()?, next().int()?);
            // Another node may have appended and folded meanwhile: its log is counted afresh.
            self.forget_log(&session);
            self.fences().insert(session.clone(), token);
            taken.insert(session, Lease { token, expires_ms });
        }
        Ok(taken)
    }
}
