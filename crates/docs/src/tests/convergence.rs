//! Replicas converge: members edit one chart concurrently through a simulated server, or
//! exchange updates directly in any order, and every replica ends the same.

use super::*;
use bandsync_sim::rng::Rng;
use yrs::Text;

/// UTF-16 offsets between characters (where an editor can put the cursor), 0 included.
pub(super) fn char_boundaries(text: &str) -> Vec<u32> {
    std::iter::once(0)
        .chain(text.chars().scan(0u32, |acc, c| {
            *acc += c.len_utf16() as u32;
            Some(*acc)
        }))
        .collect()
}

/// N members edit one chart concurrently through a server, as BandSync runs: each link is
/// a FIFO queue (a WebSocket), delivered at random moments, so that messages from different
/// members interleave in random order; links go down at random (partitions) while their
/// members keep editing offline, and come back with a sync-step exchange. At the end every
/// replica has the same text and no typed character is lost or doubled.
// Indexes several per-member vectors at once; an iterator would hide that.
#[allow(clippy::needless_range_loop)]
fn converge(seed: u64, members: usize, steps: usize, deletes: bool) {
    use std::collections::VecDeque;
    let mut rng = Rng::new(seed);
    let server = SessionDoc::new();
    let docs: Vec<SessionDoc> = (0..members).map(|_| SessionDoc::new()).collect();
    let mut up: Vec<VecDeque<Vec<u8>>> = vec![VecDeque::new(); members];
    let mut down: Vec<VecDeque<Vec<u8>>> = vec![VecDeque::new(); members];
    let mut online = vec![true; members];
    // The song's chart is created once, by whoever adds the song (song ids are random, so
    // two members never create the same one). Two replicas creating the same map key at once
    // would each fill their own Y.Text, and only one survives: Yjs's rule for map writes.
    server.handle(&docs[0].set_chart("s1", ""), true).unwrap();
    for d in &docs {
        for m in server.handle(&d.sync_step1(), true).unwrap().to_sender {
            d.handle_from_server(&m).unwrap();
        }
    }
    let mut tokens = Vec::new();
    let reconnect = |i: usize, up: &mut Vec<VecDeque<Vec<u8>>>, down: &mut Vec<VecDeque<Vec<u8>>>| {
        // A fresh connection: what was in flight is gone; the sync steps repair it.
        up[i].clear();
        down[i].clear();
        for m in server.handle(&docs[i].sync_step1(), true).unwrap().to_sender {
            for back in docs[i].handle_from_server(&m).unwrap() {
                let r = server.handle(&back, true).unwrap();
                for b in r.broadcast {
                    for (k, q) in down.iter_mut().enumerate() {
                        if k != i {
                            q.push_back(b.clone());
                        }
                    }
                }
            }
        }
    };
    for step in 0..steps {
        let r = rng.below(members as u64) as usize;
        let text = docs[r].chart("s1").unwrap_or_default();
        // Editors place the cursor between characters, never inside a surrogate pair.
        let boundaries = char_boundaries(&text);
        let update = if deletes && boundaries.len() > 4 && rng.below(3) == 0 {
            let k = rng.below(boundaries.len() as u64 - 1) as usize;
            let (from, to) = (boundaries[k], boundaries[k + 1]);
            docs[r].edit(|txn| {
                if let Some(t) = docs[r].chart_ref(txn, "s1") {
                    t.remove_range(txn, from, to - from);
                }
            })
        } else {
            let tok = format!("<{r}.{step}é🎸>");
            tokens.push(tok.clone());
            let at = boundaries[rng.below(boundaries.len() as u64) as usize];
            docs[r].insert_chart("s1", at, &tok)
        };
        if online[r] {
            up[r].push_back(update);
        }
        // Links go down and come back.
        let flip = rng.below(members as u64 * 8) as usize;
        if flip < members {
            if online[flip] {
                online[flip] = false;
            } else {
                online[flip] = true;
                reconnect(flip, &mut up, &mut down);
            }
        }
        // Deliver some messages on the live links, in FIFO order per link.
        for i in 0..members {
            if !online[i] {
                continue;
            }
            while rng.below(2) == 0 {
                let Some(m) = up[i].pop_front() else { break };
                let reply = server.handle(&m, true).unwrap();
                for b in reply.broadcast {
                    for (k, q) in down.iter_mut().enumerate() {
                        if k != i {
                            q.push_back(b.clone());
                        }
                    }
                }
            }
            while rng.below(2) == 0 {
                let Some(m) = down[i].pop_front() else { break };
                docs[i].handle_from_server(&m).unwrap();
            }
        }
    }
    // Everyone comes back online and the links drain.
    for i in 0..members {
        if !online[i] {
            online[i] = true;
            reconnect(i, &mut up, &mut down);
        }
    }
    loop {
        let mut moved = false;
        for i in 0..members {
            while let Some(m) = up[i].pop_front() {
                moved = true;
                let reply = server.handle(&m, true).unwrap();
                for b in reply.broadcast {
                    for (k, q) in down.iter_mut().enumerate() {
                        if k != i {
                            q.push_back(b.clone());
                        }
                    }
                }
            }
            while let Some(m) = down[i].pop_front() {
                moved = true;
                docs[i].handle_from_server(&m).unwrap();
            }
        }
        if !moved {
            break;
        }
    }
    let mut texts: Vec<String> = docs.iter().map(|d| d.chart("s1").unwrap_or_default()).collect();
    texts.push(server.chart("s1").unwrap_or_default());
    assert!(texts.windows(2).all(|w| w[0] == w[1]), "seed {seed}: replicas diverged: {texts:#?}");
    if !deletes {
        // Insertions land inside one another, so count characters: every character every
        // member typed is in the final text, exactly once.
        let mut typed: Vec<char> = tokens.concat().chars().collect();
        let mut have: Vec<char> = texts[0].chars().collect();
        typed.sort_unstable();
        have.sort_unstable();
        assert_eq!(typed, have, "seed {seed}: an edit was lost or doubled");
    }
}

#[test]
fn replicas_converge_under_concurrency_partitions_and_reordering() {
    for seed in 1..=30 {
        converge(seed, 2 + (seed % 4) as usize, 120, false);
        converge(seed * 7919, 3, 150, true);
    }
}

/// Replicas exchange updates directly, each delivered to each other replica at a random later
/// moment, in any order (not FIFO, not causal) and sometimes twice: yrs holds an update whose
/// dependencies have not arrived and applies it once they do. Every replica ends identical to
/// a reference that applied every update once, in the order they were made; without deletes,
/// every typed token is there exactly once.
fn converge_reordered(seed: u64, members: usize, steps: usize, deletes: bool) {
    let mut rng = Rng::new(seed);
    let docs: Vec<SessionDoc> = (0..members).map(|_| SessionDoc::new()).collect();
    let base = docs[0].set_chart("s1", "");
    for d in &docs[1..] {
        d.handle_from_server(&base).unwrap();
    }
    // Pending deliveries: (replica, frame).
    let mut inflight: Vec<(usize, Vec<u8>)> = Vec::new();
    let mut inserted = Vec::new();
    let reference = SessionDoc::new();
    reference.handle_from_server(&base).unwrap();
    for step in 0..steps {
        let r = rng.below(members as u64) as usize;
        let text = docs[r].chart("s1").unwrap_or_default();
        let boundaries = char_boundaries(&text);
        let frame = if deletes && boundaries.len() > 4 && rng.below(3) == 0 {
            let k = rng.below(boundaries.len() as u64 - 2) as usize;
            let (from, to) = (boundaries[k], boundaries[k + 2]);
            docs[r].edit(|txn| {
                if let Some(t) = docs[r].chart_ref(txn, "s1") {
                    t.remove_range(txn, from, to - from);
                }
            })
        } else {
            let tok = format!("<{r}.{step}é🎸>");
            inserted.push(tok.clone());
            docs[r].insert_chart("s1", boundaries[rng.below(boundaries.len() as u64) as usize], &tok)
        };
        reference.handle_from_server(&frame).unwrap();
        for k in (0..members).filter(|&k| k != r) {
            inflight.push((k, frame.clone()));
            if rng.below(10) == 0 {
                inflight.push((k, frame.clone())); // a duplicate
            }
        }
        // Deliver a random selection, in random order.
        let n = rng.below(inflight.len() as u64 + 1) as usize;
        for _ in 0..n {
            let i = rng.below(inflight.len() as u64) as usize;
            let (k, f) = inflight.swap_remove(i);
            docs[k].handle_from_server(&f).unwrap();
        }
    }
    while !inflight.is_empty() {
        let i = rng.below(inflight.len() as u64) as usize;
        let (k, f) = inflight.swap_remove(i);
        docs[k].handle_from_server(&f).unwrap();
    }
    let expected = reference.chart("s1").unwrap();
    for (i, d) in docs.iter().enumerate() {
        assert_eq!(d.chart("s1").unwrap(), expected, "seed {seed}: replica {i} differs from the reference");
    }
    if !deletes {
        // Later tokens land inside earlier ones, so compare characters, not tokens.
        let mut want: Vec<char> = inserted.iter().flat_map(|t| t.chars()).collect();
        let mut got: Vec<char> = expected.chars().collect();
        want.sort_unstable();
        got.sort_unstable();
        assert_eq!(got, want, "seed {seed}: a typed character was lost or doubled");
    }
}

#[test]
fn replicas_converge_under_arbitrary_reordering_and_duplication() {
    for seed in 1..=40 {
        converge_reordered(seed, 2 + (seed % 4) as usize, 200, seed % 2 == 0);
    }
}
