//! How a node loads the sessions its members reach, many at once: the loads queued together
//! ([`crate::placements::Placing::load`]) read their rows and leases in one statement, take their
//! leases together ([`crate::store::Store::take_leases_unless`]), and read their rows again and
//! what their starts need (carried state, chat, activity, versions) in one statement each; each
//! session's documents are still read on their own, as it starts. Loaded one by one, in about ten
//! statements each, a node taking over a dead node's 170–340 sessions spent 2–3.8 s on them, and
//! the members of the last ones waited for them all.

use super::ms;
use crate::hub::Hub;
use crate::hub::restart::StartReads;
use crate::placements::{Load, LoadJob};
use crate::store::lease::{Lease, takeable};
use std::collections::HashMap;
use std::sync::atomic::Ordering;
use std::time::Instant;

impl Hub {
    /// Runs a batch of loads (see [`Hub::try_loads`]).
    pub(super) fn load_batch(&self, mut jobs: Vec<LoadJob>) {
        for j in &jobs {
            j.begun.store(true, Ordering::Release);
        }
        self.try_loads(&mut jobs);
    }

    /// One attempt at each of `jobs`: to load its session from the store under a fresh lease,
    /// and to ask the holder for it when another node holds it and the job says `ask`. Each job's
    /// member is told its outcome as soon as it is known: those the first read settles before
    /// any session starts, and each loaded one as it starts.
    ///
    /// For each job: a lease that ran out unrenewed (its holder died) is taken like a free one:
    /// the proxy sends a session's members only where its hash names (it does not redispatch
    /// them: `docs/SCALING.md`), so the node they reach is the one that should hold it. Nothing
    /// is taken for a job whose member stopped waiting (`gave_up`), whenever it does: a lease
    /// taken after goes back at once.
    pub(super) fn try_loads(&self, jobs: &mut [LoadJob]) {
        let (node, store) = self.node_store().expect("only in a cluster");
        // One batch of loads at a time on this node: two members arriving together start one
        // session.
        let one = self.starting();
        let t0 = Instant::now(); // For the log: where a load's time goes.
        // A session's newest job stands for it: an older one in the same batch is a member's
        // that stopped waiting (one attempt a session at a time: `Placing::join`).
        let mut newest: HashMap<String, usize> = HashMap::new();
        for i in 0..jobs.len() {
            if let Some(older) = newest.insert(jobs[i].id.clone(), i) {
                jobs[older].tell(Ok(Load::Held(None)));
            }
        }
        for j in jobs.iter_mut().filter(|j| !j.told()) {
            if self.get(&j.id).is_some() {
                j.tell(Ok(Load::Loaded));
            } else if j.given_up() || self.draining() || self.still_ending(&j.id) {
                // Its member stopped waiting before its turn came; a draining node has just
                // handed its sessions over (taking one back would keep it on a node about to
                // stop); or the task this node let go last may still be writing what it had
                // (each write is fenced by the lease this node holds, whatever task makes it):
                // a second task starts once it has ended.
                j.tell(Ok(Load::Held(None)));
            }
        }
        let reading: Vec<usize> = (0..jobs.len()).filter(|&i| !jobs[i].told()).collect();
        let attempts: HashMap<usize, u64> = reading.iter().map(|&i| (i, self.placing.attempted())).collect();
        let ids: Vec<&str> = reading.iter().map(|&i| jobs[i].id.as_str()).collect();
        let mut read = match store.sessions_with_leases(&ids) {
            Ok(read) => read,
            Err(e) => return tell_all(jobs, &reading, &e.to_string()),
        };
        // One reading of the clock for the leases' expiry, here and in the take below.
        let now = self.clock.wall_ms();
        // Each job to take, and each another node holds, with the lease as read.
        let (mut take, mut held_by_others): (Vec<(usize, Option<Lease>)>, Vec<_>) = (Vec::new(), Vec::new());
        for &i in &reading {
            let j = &mut jobs[i];
            let holder = match read.remove(&j.id) {
                None => {
                    j.tell(Ok(Load::NotStored));
                    continue;
                }
                Some(Err(e)) => {
                    j.tell(Err(e.to_string()));
                    continue;
                }
                Some(Ok((_, holder))) => holder,
            };
            let current = holder.as_ref().map(|(_, l)| *l);
            let free = holder.as_ref().is_none_or(|(by, l)| takeable(by, l, &node.name, now));
            if j.given_up() {
                j.tell(Ok(Load::Held(None)));
            } else if !free && j.waited_on.zip(current).is_some_and(|(w, c)| c.token != w.token) {
                // Taken by another node while this member waited (a take raises the token; a
                // renewal keeps it): the cluster moved the session where the proxy sends its
                // members now, which is not here, or they would have brought it here. Waiting
                // on, this node would ask for it a lease time later, and the band would move a
                // second time, and back again once its members reached the node the proxy names:
                // hundreds of hand-overs a run of the cluster bench at 5,500 members.
                j.tell(Ok(Load::TakenMeanwhile));
            } else if free {
                // Held by another node as read, the take would find it so too: only free ones
                // go to the statement.
                take.push((i, current));
            } else {
                held_by_others.push((i, current));
            }
        }
        let ids: Vec<&str> = take.iter().map(|&(i, _)| jobs[i].id.as_str()).collect();
        let gave_up = |id: &str| newest.get(id).is_some_and(|&i| jobs[i].given_up());
        let taken = store.take_leases_unless(&ids, &node.name, now, ms(node.lease_ttl), &gave_up);
        // After the take, whose expiry `now` is: asking a holder is a write, which may wait.
        for (i, current) in held_by_others {
            held(store, &node.name, &mut jobs[i], current);
        }
        let taken = match taken {
            Ok(taken) => taken,
            Err(e) => return tell_all(jobs, &take.iter().map(|&(i, _)| i).collect::<Vec<_>>(), &e.to_string()),
        };
        let took_ms = t0.elapsed().as_secs_f64() * 1e3;
        let mut starting = Vec::new();
        for (i, current) in take {
            let j = &mut jobs[i];
            let Some(&lease) = taken.get(&j.id) else {
                // Another node took it between the read and the take, or its member stopped
                // waiting first.
                if j.given_up() {
                    j.tell(Ok(Load::Held(None)));
                } else {
                    held(store, &node.name, j, current);
                }
                continue;
            };
            self.leases().insert(j.id.as_str().into(), lease);
            // Its member stopped waiting while the take was under way: the lease goes back.
            if j.given_up() {
                self.give_back_lease(&j.id);
                j.tell(Ok(Load::Held(None)));
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
                return tell_all(jobs, &starting.iter().map(|&(i, _)| i).collect::<Vec<_>>(), &e.to_string());
            }
        };
        let batch = jobs.len();
        for (i, lease) in starting {
            let j = &mut jobs[i];
            let row = match rows.remove(&j.id) {
                Some(Ok((row, _))) => row,
                other => {
                    self.give_back_lease(&j.id);
                    j.tell(match other {
                        Some(Err(e)) => Err(e.to_string()),
                        _ => Ok(Load::NotStored),
                    });
                    continue;
                }
            };
            match self.start_stored(&one, row, reads.remove(&j.id)) {
                Ok(_) => {
                    tracing::info!(
                        session = j.id,
                        node = %node.name,
                        token = lease.token,
                        batch,
                        took_ms,
                        ms = t0.elapsed().as_secs_f64() * 1e3,
                        waited_ms = j.arrived.elapsed().as_secs_f64() * 1e3,
                        attempts = attempts.get(&i).copied().unwrap_or(0),
                        "session loaded on this node"
                    );
                    j.tell(Ok(Load::Loaded));
                }
                Err(e) => {
                    self.give_back_lease(&j.id);
                    j.tell(Err(e.to_string()));
                }
            }
        }
    }
}

/// Tells `j` that another node holds its session (`current`, as read), first asking that node
/// for it if `j` says to.
fn held(store: &crate::store::Store, node: &str, j: &mut LoadJob, current: Option<Lease>) {
    let asked = if j.ask { store.want_lease(&j.id, node).map(drop) } else { Ok(()) };
    j.tell(asked.map(|()| Load::Held(current)).map_err(|e| e.to_string()));
}

/// Tells the jobs at `failed` that their load failed with `error`.
fn tell_all(jobs: &mut [LoadJob], failed: &[usize], error: &str) {
    for &i in failed {
        jobs[i].tell(Err(error.to_owned()));
    }
}
