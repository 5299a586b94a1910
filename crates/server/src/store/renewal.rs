//! Renewing a node's leases: all of them in a few statements a tick, and on Postgres on a
//! connection of their own ([`Store::renew_leases`]).

use super::lease::{RENEW_BATCH, Renewal, lease_pairs};
use super::sql::{Db, V, columns};
use super::{Store, StoreError};

/// What each renewed lease, `(session, token)`, answered.
type Answers = std::collections::HashMap<(String, i64), Renewal>;

/// Told of leases `(session, token)` the database has renewed ([`Store::renew_leases_telling`]).
pub type Renewed<'a> = &'a mut dyn FnMut(&[(String, i64)]);

/// What a renewal answers for each lease it renewed: who else asked for it, if anyone (an ask by
/// the holder itself, which no ask writes, is none: it would hand the session to itself).
const RETURNING: &str = "RETURNING session, token, NULLIF(wanted_by, node)";

impl Store {
    /// [`Store::renew_lease`] for every lease a node holds, `(session, token)`, in one statement
    /// for them all on Postgres, and one per [`RENEW_BATCH`] of them on SQLite, rather than one
    /// each: a node with 2,000 sessions renewing every half second made 4,000 round trips a
    /// second. The answers are in `held`'s order.
    ///
    /// On Postgres, renewals take a connection of their own. On the writers' connection they
    /// waited behind the group commits: unanswered for a quarter of the lease time 600–5,000
    /// times a run of the cluster bench at 5,500 members, and once (while the bench opened a
    /// thousand connections to Postgres) for a whole lease time, when a live node let its 531
    /// sessions go. Apart, they must not deadlock with the transactions that lock lease rows
    /// until they commit (takes, `FOR UPDATE`): a statement renewing many leases passes over the
    /// rows another transaction holds, and those are then renewed one statement each, each
    /// waiting for that one row and holding no other (passed over and left for the next try,
    /// such a lease ran out once a run, when the two tries after it went unanswered). A group
    /// commit's fencing check holds its rows `FOR KEY SHARE` (`lease::check_writes`), which a
    /// renewal does not wait for.
    ///
    /// So the renewals, and [`Store::ping`], no longer ask anything of the writers' connection:
    /// that one's own failures reach the writes it refuses (each given up after
    /// [`super::postgres::Postgres::answer_within`], and the connection opened again), not the
    /// node's health (`Hub::cut_off`), which says whether the node can hold its leases.
    ///
    /// # Errors
    /// On a database error (then nothing is known of any of them).
    pub fn renew_leases(&self, held: &[(String, i64)], now_ms: i64, ttl_ms: i64) -> Result<Vec<Renewal>, StoreError> {
        self.renew_leases_telling(held, now_ms, ttl_ms, &mut |_| {})
    }

    /// [`Store::renew_leases`], telling `renewed` of the leases the database has renewed (held or
    /// wanted) as soon as the statements that pass over held rows have answered, before the
    /// passed-over ones are waited for (Postgres; SQLite's renewals wait for nothing but its one
    /// connection). A node then knows those run until `now_ms + ttl_ms`, however long a group
    /// commit holds another row. Told nothing until the last answer, a node whose renewal waited
    /// a lease time for one row let every session go, though the database had renewed all the
    /// others: one possible cause, not confirmed, of the live nodes that let 346–594 sessions go
    /// once in several runs of the cluster bench.
    ///
    /// # Errors
    /// As [`Store::renew_leases`].
    pub fn renew_leases_telling(
        &self,
        held: &[(String, i64)],
        now_ms: i64,
        ttl_ms: i64,
        renewed: Renewed<'_>,
    ) -> Result<Vec<Renewal>, StoreError> {
        let mut answers = std::collections::HashMap::new();
        let expires = now_ms + ttl_ms;
        if self.apart() {
            self.renew_passing_over_held_rows(held, expires, &mut answers, renewed)?;
        } else {
            // One connection (SQLite): taken a batch at a time, as the writes take it.
            for chunk in held.chunks(RENEW_BATCH) {
                let sql = format!("UPDATE leases SET expires = ?1 WHERE {} {RETURNING}", lease_pairs(2, chunk.len()));
                renew(&mut **self.db(), &sql, expires, chunk, &mut answers)?;
            }
        }
        Ok(held.iter().map(|k| answers.remove(k).unwrap_or(Renewal::Lost)).collect())
    }

    /// [`Store::renew_leases`] on Postgres, on the renewals' own connection: one statement passes
    /// over the rows another transaction holds, then those still this node's are renewed one
    /// statement each, each waiting for its row alone.
    ///
    /// The leases go as two arrays (`unnest`), so the statements' text is the same whatever their
    /// number, and each is prepared once. As batches of up to 200 `OR`ed pairs (a text for each
    /// batch size, so the last batch's statement was prepared again nearly every tick), they took
    /// p50 45–60 ms and at most 371 ms a tick for 400–600 leases in the cluster bench; in one run
    /// that alone once left a renewal unanswered for a tick (the other time, the wait for rows a
    /// write held did).
    fn renew_passing_over_held_rows(
        &self,
        held: &[(String, i64)],
        expires: i64,
        answers: &mut Answers,
        renewed: Renewed<'_>,
    ) -> Result<(), StoreError> {
        let asked = std::time::Instant::now();
        let mut db = self.renewer();
        let locked = asked.elapsed();
        let arrays = |pairs: &[(String, i64)]| {
            let (sessions, tokens): (Vec<String>, Vec<i64>) = pairs.iter().cloned().unzip();
            [V::Texts(sessions), V::Ints(tokens)]
        };
        // Every lease at once, passing over the rows another transaction holds, ...
        let sql = format!(
            "UPDATE leases SET expires = ?1 WHERE (session, token) IN
             (SELECT l.session, l.token FROM leases l {} FOR NO KEY UPDATE OF l SKIP LOCKED) {RETURNING}",
            held_join(2)
        );
        let [sessions, tokens] = arrays(held);
        note_answers(db.query(&sql, &[V::Int(expires), sessions, tokens])?, answers)?;
        let renewed_all = asked.elapsed();
        // Told only when some remain to wait for: otherwise the answers come at once anyway.
        if answers.len() < held.len() {
            renewed(&answers.keys().cloned().collect::<Vec<_>>());
        }
        // ... then those still this node's (read without a lock: the others are lost) are renewed
        // one statement each, each waiting for its row alone.
        let missing: Vec<(String, i64)> = held.iter().filter(|&p| !answers.contains_key(p)).cloned().collect();
        let mut passed_over = Vec::new();
        if !missing.is_empty() {
            let sql = format!("SELECT l.session, l.token FROM leases l {}", held_join(1));
            for row in db.query(&sql, &arrays(&missing))? {
                let mut next = columns(row);
                passed_over.push((next().text()?, next().int()?));
            }
        }
        let one = format!("UPDATE leases SET expires = ?1 WHERE {} {RETURNING}", lease_pairs(2, 1));
        let looked_up = asked.elapsed();
        for pair in &passed_over {
            renew(&mut **db, &one, expires, std::slice::from_ref(pair), answers)?;
        }
        // For the renewals a node found unanswered (`Hub::keep_leases`): where the time went (the
        // connection's lock, the statement over every lease, finding the rows passed over,
        // waiting for those), when some rows were passed over or it took a tenth of a second.
        let all = asked.elapsed();
        if !passed_over.is_empty() || all.as_millis() >= 100 {
            let ms = |d: std::time::Duration| d.as_secs_f64() * 1e3;
            tracing::debug!(
                target: "bandsync_server::renewals",
                leases = held.len(),
                passed_over = passed_over.len(),
                lock_ms = ms(locked),
                statement_ms = ms(renewed_all - locked),
                lookup_ms = ms(looked_up - renewed_all),
                waited_ms = ms(all - looked_up),
                "renewal on the renewals' connection"
            );
        }
        Ok(())
    }
}

/// Leases `(session, token)` given as two arrays, `?{first}` the sessions and the next the tokens,
/// joined to the lease rows `l`.
fn held_join(first: usize) -> String {
    format!(
        "JOIN unnest(?{first}::text[], ?{}::bigint[]) AS h(session, token) ON l.session = h.session AND l.token = h.token",
        first + 1
    )
}

/// Runs renewal `sql` for `pairs` (numbered from `?2`; `?1` the new expiry), and notes each
/// lease it renewed, by `(session, token)`, in `answers`.
fn renew(
    db: &mut dyn Db,
    sql: &str,
    expires: i64,
    pairs: &[(String, i64)],
    answers: &mut Answers,
) -> Result<(), StoreError> {
    let params: Vec<V> = std::iter::once(expires.into()).chain(pair_params(pairs)).collect();
    note_answers(db.query(sql, &params)?, answers)
}

/// Notes each lease a renewal's rows (`session, token, wanted_by`) say it renewed, in `answers`.
fn note_answers(rows: Vec<super::sql::Row>, answers: &mut Answers) -> Result<(), StoreError> {
    for row in rows {
        let mut next = columns(row);
        let (session, token) = (next().text()?, next().int()?);
        let r = match next() {
            V::Text(node) => Renewal::Wanted(node),
            _ => Renewal::Held,
        };
        answers.insert((session, token), r);
    }
    Ok(())
}

/// The parameters of [`lease_pairs`]: each lease's session, then its token.
fn pair_params(pairs: &[(String, i64)]) -> impl Iterator<Item = V> + '_ {
    pairs.iter().flat_map(|(s, t)| [V::from(s.as_str()), V::from(*t)])
}
