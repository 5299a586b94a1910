//! Session leases with fencing tokens: on several nodes sharing one database, each session is
//! owned by exactly one node at a time.
//!
//! A node takes a session's lease for a while and renews it; another node may take it once it has
//! expired. Every take raises the session's fencing token. While a node holds a lease, the store
//! checks its token inside the same transaction as each write for that session: a node that lost
//! the lease (paused, partitioned, presumed dead) is refused with [`StoreError::Fenced`] and
//! writes nothing, however late it wakes. The check locks the lease row until the write commits
//! (in Postgres `FOR KEY SHARE`, which a take's `FOR UPDATE` waits for; on SQLite, a write takes
//! the one write lock), so a takeover waits for the write rather than racing it, and a renewal
//! (which changes only the expiry) does not wait for it.
//!
//! Times are milliseconds on the callers' clocks (`now_ms` is an input); nodes keep their clocks
//! within a fraction of the lease time (NTP does).

use super::sql::{Db, V, columns};
use super::{Store, StoreError, StoredSession};
use std::collections::HashMap;

/// What renewing a lease found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Renewal {
    /// Still this node's, until the new expiry.
    Held,
    /// Still this node's, but another node (named) asked for it: the proxy now sends the
    /// session's members there. Hand it over.
    Wanted(String),
    /// Taken by another node, or the session was deleted: let it go at once.
    Lost,
}

/// How many leases one renewal statement renews (each is two parameters and one `OR`; SQLite
/// parses a chain of `OR`s as a tree as deep as the chain, and allows 1,000).
pub const RENEW_BATCH: usize = 200;

/// A lease a node holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Lease {
    /// The fencing token: larger for every take.
    pub token: i64,
    /// When it expires unless renewed (ms).
    pub expires_ms: i64,
}

/// Who holds a lease: the node's name, and the lease.
pub type Holder = (String, Lease);

/// A session's row, with who holds its lease if anyone ever took it.
pub type Read = (StoredSession, Option<Holder>);

/// The leases node `?1` may ask back ([`Store::claim_homes`]): its sessions (their home), held by
/// another node, and not asked for by anyone yet. `home <> node` follows from the rest; it is
/// there to state the condition of the partial index that holds these rows (`leases_away`,
/// [`super::sql::away`]), without which Postgres and SQLite scan every lease.
const ASKABLE: &str = concat!("home = ?1 AND node <> ?1 AND ", super::sql::away!());

/// The statements that read a node's asks. Public so that a test can show the indexes they read
/// ([`super::sql::ADDED_INDEXES`]).
#[derive(Debug, Clone)]
pub struct AskStatements {
    /// [`Store::claim_homes`]'s: `?1` the node, `?2` how many at most.
    pub claim: String,
    /// [`Store::homes_left`]'s: `?1` the node.
    pub left: String,
    /// [`Store::withdraw_asks`]'s: `?1` the node.
    pub withdraw: &'static str,
}

impl AskStatements {
    /// On an engine that locks rows (Postgres: the claim passes over rows another transaction
    /// holds) or not.
    #[must_use]
    pub fn new(locks_rows: bool) -> Self {
        let lock = if locks_rows { "FOR NO KEY UPDATE SKIP LOCKED" } else { "" };
        AskStatements {
            // The batch is picked once, apart: as a subquery, Postgres may run it again for each
            // row the update reads (through the partial index, it did), and each run past the
            // rows this statement already changed picks others, more than `?2` in all.
            claim: format!(
                "WITH picked AS MATERIALIZED (
                     SELECT session FROM leases WHERE {ASKABLE} ORDER BY session LIMIT ?2 {lock})
                 UPDATE leases SET wanted_by = ?1 WHERE {ASKABLE} AND session IN (SELECT session FROM picked)"
            ),
            left: format!("SELECT COUNT(*) FROM leases WHERE {ASKABLE}"),
            withdraw: "UPDATE leases SET wanted_by = NULL WHERE wanted_by = ?1",
        }
    }
}

/// Whether `node` may take a lease `holder` holds, at `now_ms`: it expired, or it is `node`'s
/// already. [`Store::take_lease`]'s statement decides it so in the database; a node that read the
/// lease asks this before sending the statement (a node taking over many sessions at once would
/// otherwise send it for each, again and again, while the dead node's leases run out).
#[must_use]
pub fn takeable(holder: &str, lease: &Lease, node: &str, now_ms: i64) -> bool {
    lease.expires_ms < now_ms || holder == node
}

impl Store {
    /// Extends a held lease to `now_ms + ttl_ms`, and says whether another node asked for it or
    /// took it.
    ///
    /// # Errors
    /// On a database error.
    pub fn renew_lease(&self, session: &str, token: i64, now_ms: i64, ttl_ms: i64) -> Result<Renewal, StoreError> {
        let mut r = self.renew_leases(&[(session.to_owned(), token)], now_ms, ttl_ms)?;
        Ok(r.pop().unwrap_or(Renewal::Lost))
    }

    /// Asks the node holding `session`'s lease to hand it over to `node` (see [`Renewal::Wanted`]).
    /// `false` when nobody else holds it.
    ///
    /// # Errors
    /// On a database error.
    pub fn want_lease(&self, session: &str, node: &str) -> Result<bool, StoreError> {
        let n = self.db().execute(
            "UPDATE leases SET wanted_by = ?2 WHERE session = ?1 AND node <> ?2",
            &[session.into(), node.into()],
        )?;
        Ok(n == 1)
    }

    /// Asks for at most `at_most` of the sessions whose home is `node` and which another node
    /// holds (each as [`Store::want_lease`] does, and none another node asked for already): a
    /// node back after it was killed, cut off or drained brings its share back, a batch at a
    /// time. How many it asked for; their holders hand them over at their next renewal, and their
    /// members reconnect through the proxy, whose hash sends them here. See `home` in
    /// `store/take.rs`.
    ///
    /// On Postgres it passes over the rows another transaction holds (a take, a renewal), on the
    /// reader connection as a take: it holds up neither those nor this node's writes. The
    /// conditions are checked again on each row it updates, which Postgres does not do for the
    /// rows a subquery chose once it has waited for them.
    ///
    /// # Errors
    /// On a database error.
    pub fn claim_homes(&self, node: &str, at_most: usize) -> Result<u64, StoreError> {
        let at_most = i64::try_from(at_most).unwrap_or(i64::MAX);
        let mut db = if self.apart() { self.reader() } else { self.db() };
        let claim = AskStatements::new(db.locks_rows()).claim;
        db.execute(&claim, &[node.into(), at_most.into()])
    }

    /// Whether another node holds a session whose home is `node` that `node` has not asked for:
    /// [`Store::claim_homes`] found none to ask for because another transaction held their rows,
    /// not because there are none.
    ///
    /// # Errors
    /// On a database error.
    pub fn homes_left(&self, node: &str) -> Result<bool, StoreError> {
        let mut db = self.db();
        let left = AskStatements::new(db.locks_rows()).left;
        let rows = db.query(&left, &[node.into()])?;
        Ok(rows.first().and_then(|r| r.first()).is_some_and(|n| *n != V::Int(0)))
    }

    /// Withdraws every ask `node` made ([`Store::want_lease`], [`Store::claim_homes`]) that
    /// was not handed over yet: a node draining, whose sessions would be handed to it, then to
    /// another, and lose the home they had.
    ///
    /// # Errors
    /// On a database error.
    pub fn withdraw_asks(&self, node: &str) -> Result<u64, StoreError> {
        let mut db = self.db();
        let withdraw = AskStatements::new(db.locks_rows()).withdraw;
        db.execute(withdraw, &[node.into()])
    }

    /// Gives a held lease up at once (a hand-over, a new session handed on, at `now_ms`), so
    /// another node may take it without waiting for it to expire. This store writes nothing
    /// more for the session until it takes the lease again. The lease then says when the session
    /// was last held, as an expired one does, and keeps the home it had (`store/take.rs`).
    ///
    /// # Errors
    /// On a database error.
    pub fn release_lease(&self, session: &str, token: i64, now_ms: i64) -> Result<(), StoreError> {
        self.release(session, token, now_ms, false)
    }

    /// [`Store::release_lease`] by a node draining, which is to come back (a restart, a rolling
    /// upgrade): the session's home is this node from now on, unless it had one, and this node
    /// asks for it back once it is back ([`Store::claim_homes`]). A node taken out for good
    /// leaves its name as the home of the sessions it drained: clear it (`UPDATE leases SET
    /// home = NULL WHERE home = 'NAME'`, `docs/SCALING.md`).
    ///
    /// # Errors
    /// On a database error.
    pub fn release_lease_to_come_back(&self, session: &str, token: i64, now_ms: i64) -> Result<(), StoreError> {
        self.release(session, token, now_ms, true)
    }

    fn release(&self, session: &str, token: i64, now_ms: i64, home_here: bool) -> Result<(), StoreError> {
        // Token 0 is never taken: every later write for the session is refused here, unless this
        // store has taken the lease again since (a release made late, off the caller's task).
        let mut fences = self.fences();
        let fence = fences.entry(session.to_owned()).or_insert(0);
        if *fence == token {
            *fence = 0;
        }
        drop(fences);
        self.forget_log(session);
        let home = if home_here { "COALESCE(home, node)" } else { "home" };
        self.db().execute(
            &format!("UPDATE leases SET expires = ?3, released = 1, home = {home} WHERE session = ?1 AND token = ?2"),
            &[session.into(), token.into(), (now_ms - 1).into()],
        )?;
        Ok(())
    }

    /// The sessions no node has held since `before_ms`: their lease ran out or was given up
    /// before then, or, never taken, they were made before then. After a restart of the whole
    /// cluster nobody loads a session its band does not come back to, so no node's idle expiry
    /// sees it: this is how it ends.
    ///
    /// # Errors
    /// On a database error.
    pub fn unheld_since(&self, before_ms: i64) -> Result<Vec<String>, StoreError> {
        let rows = self.db().query(
            "SELECT s.id FROM sessions s LEFT JOIN leases l ON l.session = s.id
             WHERE COALESCE(l.expires, s.created * 1000) < ?1 ORDER BY s.id",
            &[before_ms.into()],
        )?;
        rows.into_iter().map(|r| r.into_iter().next().unwrap_or(V::Null).text()).collect()
    }

    /// Stops fencing `session`'s writes here (it was deleted).
    pub(crate) fn forget_lease(&self, session: &str) {
        self.fences().remove(session);
    }

    /// Who holds `session`'s lease and until when (ms), if anyone ever took it.
    ///
    /// # Errors
    /// On a database error.
    pub fn lease_holder(&self, session: &str) -> Result<Option<Holder>, StoreError> {
        let rows = self.db().query("SELECT node, token, expires FROM leases WHERE session = ?1", &[session.into()])?;
        rows.into_iter()
            .next()
            .map(|r| {
                let mut next = columns(r);
                let node = next().text()?;
                Ok((node, Lease { token: next().int()?, expires_ms: next().int()? }))
            })
            .transpose()
    }

    /// Session `id`'s row, with who holds its lease and until when (ms) if anyone ever took it:
    /// what a node reads first to load the session for a member (`crate::nodes`).
    ///
    /// # Errors
    /// On a database error, or a row that does not read.
    pub fn session_with_lease(&self, id: &str) -> Result<Option<(StoredSession, Option<Holder>)>, StoreError> {
        self.sessions_with_leases(&[id])?.remove(id).transpose()
    }

    /// [`Store::session_with_lease`] for each of `ids`, in one statement on the reader
    /// connection, by id (those not stored are missing; a row that does not read is its own
    /// error, not the others'). A node taking over hundreds of sessions at once read these on
    /// the writers' connection, in two statements a member, each behind the group commits, and
    /// then in one statement a session.
    ///
    /// # Errors
    /// On a database error.
    pub fn sessions_with_leases(&self, ids: &[&str]) -> Result<HashMap<String, Result<Read, StoreError>>, StoreError> {
        let rows = self.read_sessions(
            "SELECT s.id, s.name, s.secret, s.leader_secret, s.viewer_secret, s.pin, l.node, l.token, l.expires
             FROM sessions s LEFT JOIN leases l ON l.session = s.id WHERE s.id IN (…)",
            ids,
        )?;
        let mut found = HashMap::new();
        for mut row in rows {
            let Some(id) = row.first().cloned().and_then(|id| id.text().ok()) else { continue };
            let mut next = columns(row.split_off(6.min(row.len())));
            let read = super::stored_session(row).and_then(|session| {
                let lease = match next() {
                    V::Null => None,
                    node => Some((node.text()?, Lease { token: next().int()?, expires_ms: next().int()? })),
                };
                Ok((session, lease))
            });
            found.insert(id, read);
        }
        Ok(found)
    }

    /// Runs `f` in one transaction, only if `session` is still stored, and when this store holds
    /// its lease, only if it still does (both checked, and their rows locked, first, in the same
    /// transaction). A session deleted while its task still ran ([`crate::hub::Hub::remove_session`]
    /// stops the task and deletes at once) writes nothing after: no row of it outlives it.
    pub(crate) fn write<T>(
        &self,
        session: &str,
        f: impl FnOnce(&mut dyn Db) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        self.write_as(session, true, f)
    }

    /// As [`Store::write`], for the session's own row (made, updated, deleted): it need not exist.
    pub(crate) fn write_row<T>(
        &self,
        session: &str,
        f: impl FnOnce(&mut dyn Db) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        self.write_as(session, false, f)
    }

    fn write_as<T>(
        &self,
        session: &str,
        stored: bool,
        f: impl FnOnce(&mut dyn Db) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        let fence = self.fences().get(session).copied();
        let mut db = self.db();
        super::sql::transaction(&mut **db, |tx| {
            check_held(tx, session, fence, stored)?;
            f(tx)
        })
    }
}

/// `(session = ?F AND token = ?F+1) OR …` for `n` leases, numbered from `first`.
pub(super) fn lease_pairs(first: usize, n: usize) -> String {
    let pairs: Vec<String> =
        (0..n).map(|i| format!("(session = ?{} AND token = ?{})", first + 2 * i, first + 1 + 2 * i)).collect();
    pairs.join(" OR ")
}

/// What one write must still find true when it is written ([`check_writes`]).
pub(super) struct WriteCheck<'a> {
    pub session: &'a str,
    /// The lease this node must still hold, where it holds one.
    pub fence: Option<i64>,
    /// Whether the session's row must still be there.
    pub stored: bool,
}

/// In a write's transaction: refuses it if this node no longer holds lease `fence` (where it
/// holds one), or if the session is `stored` and was deleted.
pub(super) fn check_held(tx: &mut dyn Db, session: &str, fence: Option<i64>, stored: bool) -> Result<(), StoreError> {
    check_writes(tx, &[WriteCheck { session, fence, stored }])?.pop().unwrap_or(Ok(()))
}

/// [`check_held`] for several writes in one transaction (a group's: `group.rs`), in one statement
/// for the leases and one for the sessions (per [`RENEW_BATCH`] of each), not two for each
/// write. The answers are in `checks`' order; the checks change no row.
pub(super) fn check_writes(
    tx: &mut dyn Db,
    checks: &[WriteCheck<'_>],
) -> Result<Vec<Result<(), StoreError>>, StoreError> {
    use std::collections::HashSet;
    let fenced: Vec<(&str, i64)> = checks.iter().filter_map(|c| c.fence.map(|t| (c.session, t))).collect();
    // Each session's token as this node still holds it (one lease row a session).
    let mut held: HashMap<String, i64> = HashMap::new();
    for chunk in fenced.chunks(RENEW_BATCH) {
        // Each row held until this commits, so that no take changes its token meanwhile. On
        // Postgres as `FOR KEY SHARE`, which a take's `FOR UPDATE` waits for (`take.rs`) and a
        // renewal's `FOR NO KEY UPDATE` does not: a renewal never waits for a write. (Held with
        // `UPDATE ... SET token = token`, a row made the renewal wait until the write committed:
        // up to 820 ms in the cluster bench, a renewal unanswered for a tick.) On SQLite, a write:
        // it takes the write lock at once.
        let pairs = lease_pairs(1, chunk.len());
        let sql = if tx.locks_rows() {
            format!("SELECT session, token FROM leases WHERE {pairs} FOR KEY SHARE")
        } else {
            format!("UPDATE leases SET token = token WHERE {pairs} RETURNING session, token")
        };
        let params: Vec<V> = chunk.iter().flat_map(|&(s, t)| [V::from(s), V::from(t)]).collect();
        for row in tx.query(&sql, &params)? {
            let mut next = columns(row);
            held.insert(next().text()?, next().int()?);
        }
    }
    let lease_held: Vec<bool> =
        checks.iter().map(|c| c.fence.is_none_or(|t| held.get(c.session) == Some(&t))).collect();
    // A write, not a read: it takes the write lock at once (SQLite), and locks the rows until
    // this commits (Postgres), so a deletion waits for these writes or precedes them. Only the
    // rows of sessions this node still holds: no two nodes lock the same row, so their
    // transactions cannot deadlock on them.
    let rows: Vec<&str> =
        checks.iter().zip(&lease_held).filter(|(c, held)| c.stored && **held).map(|(c, _)| c.session).collect();
    let mut present: HashSet<String> = HashSet::new();
    for chunk in rows.chunks(RENEW_BATCH) {
        let list: Vec<String> = (1..=chunk.len()).map(|i| format!("?{i}")).collect();
        let sql = format!("UPDATE sessions SET name = name WHERE id IN ({}) RETURNING id", list.join(", "));
        let params: Vec<V> = chunk.iter().map(|&s| V::from(s)).collect();
        for row in tx.query(&sql, &params)? {
            present.insert(columns(row)().text()?);
        }
    }
    Ok(checks
        .iter()
        .zip(lease_held)
        .map(|(c, held)| match c.fence {
            Some(token) if !held => Err(StoreError::Fenced { session: c.session.to_owned(), token }),
            _ if c.stored && !present.contains(c.session) => Err(StoreError::Deleted(c.session.to_owned())),
            _ => Ok(()),
        })
        .collect())
}
