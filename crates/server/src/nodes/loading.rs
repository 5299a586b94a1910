//! How a node loads the sessions its members reach, many at once: the loads queued together
//! ([`crate::placements::Placing::load`]) read their rows and leases in one statement, take their
//! leases in one, and read their rows again and what their starts need (carried state, chat,
//! activity, versions) in one statement each. Loaded one by one, in about ten statements each, a
//! node taking over a dead node's 170–340 sessions spent 2–3.8 s on them, and the members of the
//! last ones waited for them all.

use super::ms;
use crate::hub::Hub;
use crate::hub::restart::StartReads;
use crate::placements::{Load, LoadJob};
use crate::store::lease::takeable;
use std::collections::HashMap;
use std::sync::atomic::Ordering;
use std::time::Instant;

impl Hub {
    /// Runs a batch of loads and answers each (see [`Hub::try_loads`]).
    pub(super) fn load_batch(&self, jobs: Vec<LoadJob>) {
        for j in &jobs {
            j.begun.store(true, Ordering::Release);
        }
        let answers = self.try_loads(&jobs);
        for (j, a) in jobs.into_iter().zip(answers) {
            let _ = j.answer.send(a);
        }
    }

    /// One attempt at each of `jobs`: to load its session from the store under a fresh lease,
    /// and to ask the holder for it when it is held and the job says `ask`. The outcomes are in
    /// `jobs`' order.
    ///
    /// For each job: if the lease another node held at its last attempt (`waited_on`) is still
    /// the lease, unrenewed and now expired, it ran out, and nothing is taken. Nor is anything
    /// taken for a job whose member stopped waiting (`gave_up`), whenever it does: a lease taken
    /// after goes back at once.
    pub(super) fn try_loads(&self, jobs: &[LoadJob]) -> Vec<Result<Load, String>> {
        let (node, store) = self.node_store().expect("only in a cluster");
        // One batch of loads at a time on this node: two members arriving together start one
        // session.
        let one = self.starting();
        let t0 = Instant::now(); // For the log: where a load's time goes.
        let mut out: Vec<Option<Result<Load, String>>> = (0..jobs.len()).map(|_| None).collect();
        // A session's newest job stands for it: an older one in the same batch is a member's
        // that stopped waiting (one attempt a session at a time: `Placing::join`).
        let mut newest: HashMap<&str, usize> = HashMap::new();
        for (i, j) in jobs.iter().enumerate() {
            if let Some(older) = newest.insert(&j.id, i) {
                out[older] = Some(Ok(Load::Held(None)));
            }
        }
        for (i, j) in jobs.iter().enumerate() {
            if out[i].is_some() {
                continue;
            }
            out[i] = if self.get(&j.id).is_some() {
                Some(Ok(Load::Loaded))
            } else if j.given_up() || self.draining() || self.still_ending(&j.id) {
                // Its member stopped waiting before its turn came; a draining node has just
                // handed its sessions over (taking one back would keep it on a node about to
                // stop); or the task this node let go last may still be writing what it had
                // (each write is fenced by the lease this node holds, whatever task makes it):
                // a second task starts once it has ended.
                Some(Ok(Load::Held(None)))
            } else {
                None
            };
        }
        let reading: Vec<usize> = (0..jobs.len()).filter(|&i| out[i].is_none()).collect();
        let mut attempts = 0;
        for _ in &reading {
            attempts = self.placing.attempted();
        }
        let ids: Vec<&str> = reading.iter().map(|&i| jobs[i].id.as_str()).collect();
        let read = match store.sessions_with_leases(&ids) {
            Ok(read) => read,
            Err(e) => return answers(out, &reading, &e.to_string()),
        };
        // One reading of the clock for the leases' expiry, here and in the take below.
        let now = self.clock.wall_ms();
        let mut take = Vec::new();
        for &i in &reading {
            let j = &jobs[i];
            let Some((_, holder)) = read.get(&j.id) else {
                out[i] = Some(Ok(Load::NotStored));
                continue;
            };
            let current = holder.as_ref().map(|(_, l)| *l);
            let free = holder.as_ref().is_none_or(|(by, l)| takeable(by, l, &node.name, now));
            let outcome = if j.waited_on.is_some_and(|w| current == Some(w) && w.expires_ms < now) {
                Ok(Load::RanOut)
            } else if j.given_up() {
                Ok(Load::Held(None))
            } else if !free && j.waited_on.zip(current).is_some_and(|(w, c)| c.token != w.token) {
                // Taken by another node while this member waited (a take raises the token; a
                // renewal keeps it): the cluster moved the session where the proxy sends its
                // members now, which is not here, or they would have brought it here. Waiting
                // on, this node would ask for it a lease time later, and the band would move a
                // second time, and back again once its members reached the node the proxy names:
                // hundreds of hand-overs a run of the cluster bench at 5,500 members.
                Ok(Load::TakenMeanwhile)
            } else if free {
                // Held by another node as read, the take would find it so too: only free ones
                // go to the statement.
                take.push(i);
                continue;
            } else if j.ask {
                store.want_lease(&j.id, &node.name).map(|_| Load::Held(current)).map_err(|e| e.to_string())
            } else {
                Ok(Load::Held(current))
            };
            out[i] = Some(outcome);
        }
        let ids: Vec<&str> = take.iter().map(|&i| jobs[i].id.as_str()).collect();
        let gave_up = |id: &str| newest.get(id).is_some_and(|&i| jobs[i].given_up());
        let taken = match store.take_leases_unless(&ids, &node.name, now, ms(node.lease_ttl), &gave_up) {
            Ok(taken) => taken,
            Err(e) => return answers(out, &take, &e.to_string()),
        };
        let took_ms = t0.elapsed().as_secs_f64() * 1e3;
        let mut starting = Vec::new();
        for &i in &take {
            let j = &jobs[i];
            let Some(&lease) = taken.get(&j.id) else {
                // Taken meanwhile by another node, or its member stopped waiting first.
                out[i] = Some(Ok(Load::Held(read.get(&j.id).and_then(|(_, h)| h.as_ref().map(|(_, l)| *l)))));
                continue;
            };
            self.leases().insert(j.id.as_str().into(), lease);
            // Its member stopped waiting while the take was under way: the lease goes back.
            if j.given_up() {
                self.give_back_lease(&j.id);
                out[i] = Some(Ok(Load::Held(None)));
                continue;
            }
            starting.push((i, lease));
        }
        // The rows as they are now that the leases are this node's: a holder whose lease had run
        // out, not yet taken, could still change one (a rename, a new secret or PIN) between the
        // read above and the take, and it is not written again at the start. With them, what the
        // starts read besides the documents.
        let ids: Vec<&str> = starting.iter().map(|&(i, _)| jobs[i].id.as_str()).collect();
        let again = store.sessions_with_leases(&ids).and_then(|rows| Ok((rows, StartReads::read(store, &ids)?)));
        let (mut rows, mut reads) = match again {
            Ok(again) => again,
            Err(e) => {
                for id in &ids {
                    self.give_back_lease(id);
                }
                return answers(out, &starting.iter().map(|&(i, _)| i).collect::<Vec<_>>(), &e.to_string());
            }
        };
        for (i, lease) in starting {
            let j = &jobs[i];
            let Some((row, _)) = rows.remove(&j.id) else {
                self.give_back_lease(&j.id);
                out[i] = Some(Ok(Load::NotStored));
                continue;
            };
            out[i] = Some(match self.start_stored(&one, row, reads.remove(&j.id)) {
                Ok(_) => {
                    tracing::info!(
                        session = j.id,
                        node = %node.name,
                        token = lease.token,
                        batch = jobs.len(),
                        took_ms,
                        ms = t0.elapsed().as_secs_f64() * 1e3,
                        waited_ms = j.arrived.elapsed().as_secs_f64() * 1e3,
                        attempts,
                        "session loaded on this node"
                    );
                    Ok(Load::Loaded)
                }
                Err(e) => {
                    self.give_back_lease(&j.id);
                    Err(e.to_string())
                }
            });
        }
        out.into_iter().map(|o| o.expect("every job answered")).collect()
    }
}

/// `out`, with `error` for the jobs at `failed`.
fn answers(mut out: Vec<Option<Result<Load, String>>>, failed: &[usize], error: &str) -> Vec<Result<Load, String>> {
    for &i in failed {
        out[i] = Some(Err(error.to_owned()));
    }
    out.into_iter().map(|o| o.expect("every job answered")).collect()
}
