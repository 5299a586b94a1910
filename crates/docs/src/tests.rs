//! The documents' convergence and editing rules, in simulated networks.

use super::*;
use yrs::Text;

struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
}

/// UTF-16 offsets between characters (where an editor can put the cursor), 0 included.
fn char_boundaries(text: &str) -> Vec<u32> {
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
    let mut rng = Rng(seed | 1);
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

#[test]
fn a_late_joiner_catches_up_with_sync_steps_and_offline_edits_merge() {
    let server = SessionDoc::new();
    let a = SessionDoc::new();
    server.handle(&a.set_chart("s1", "[C]Hello [G]world"), true).unwrap();
    // An offline member edits, then syncs: its edit reaches the server and the server's
    // state reaches it.
    let b = SessionDoc::new();
    let _offline = b.set_chart("s2", "[Am]offline");
    let reply = server.handle(&b.sync_step1(), true).unwrap();
    for m in reply.to_sender {
        for back in b.handle_from_server(&m).unwrap() {
            server.handle(&back, true).unwrap();
        }
    }
    assert_eq!(b.chart("s1").as_deref(), Some("[C]Hello [G]world"));
    assert_eq!(server.chart("s2").as_deref(), Some("[Am]offline"));
}

#[test]
fn viewers_cannot_edit_and_nothing_changes() {
    let server = SessionDoc::new();
    let viewer = SessionDoc::new();
    let u = viewer.set_chart("s1", "vandalism");
    assert!(matches!(server.handle(&u, false), Err(DocError::ReadOnly)));
    assert_eq!(server.chart("s1"), None);
    // A viewer may still sync (read).
    assert!(server.handle(&viewer.sync_step1(), false).is_ok());
    assert!(matches!(server.handle(b"\xff\x00garbage", true), Err(DocError::Malformed(_))));
}

#[test]
fn a_frame_is_taken_whole_or_not_at_all_and_every_change_is_relayed() {
    let server = SessionDoc::new();
    let member = SessionDoc::new();
    let first = member.set_chart("s1", "one");
    let second = member.insert_chart("s1", 3, " two");
    let frame: Vec<u8> = [first.clone(), second.clone()].concat();
    // From a viewer, the whole frame is refused, not its first half applied.
    assert!(matches!(server.handle(&frame, false), Err(DocError::ReadOnly)));
    assert_eq!(server.chart("s1"), None);
    // From an editor, both updates apply, and both are relayed.
    let reply = server.handle(&frame, true).unwrap();
    assert_eq!(server.chart("s1").as_deref(), Some("one two"));
    assert_eq!(reply.broadcast.len(), 2);
    assert_eq!(reply.updates.len(), 2);
}

#[test]
fn setlist_round_trips_and_is_validated() {
    let d = SessionDoc::new();
    let songs = vec![
        Song {
            id: "a".into(),
            title: "Intro".into(),
            key: "Am".into(),
            tempo: 92.0,
            meter: "4/4".into(),
            notes: String::new(),
        },
        Song {
            id: "b".into(),
            title: "Seven".into(),
            key: "D".into(),
            tempo: 140.5,
            meter: "7/8".into(),
            notes: "2+2+3".into(),
        },
    ];
    let u = d.set_setlist(&songs).unwrap();
    assert_eq!(d.setlist(), songs);
    let other = SessionDoc::new();
    other.handle(&u, true).unwrap();
    assert_eq!(other.setlist(), songs);
    let dup = vec![songs[0].clone(), songs[0].clone()];
    assert!(d.set_setlist(&dup).is_err());
}

#[test]
fn offsets_are_utf16_like_yjs() {
    let d = SessionDoc::new();
    d.set_chart("s", "🎸x");
    // The guitar is two UTF-16 units: offset 2 is between it and "x".
    d.insert_chart("s", 2, "!");
    assert_eq!(d.chart("s").as_deref(), Some("🎸!x"));
}

#[test]
fn set_chart_changes_only_the_differing_middle_and_respects_surrogates() {
    let a = SessionDoc::new();
    let b = SessionDoc::new();
    b.handle_from_server(&a.set_chart("s", "[G]Hello 🎸 world")).unwrap();
    // b types at the end while a replaces a middle word: both survive.
    let from_b = b.insert_chart("s", 17, "!"); // "[G]Hello " is 9 UTF-16 units, the guitar 2, " world" 6
    let from_a = a.set_chart("s", "[G]Hello 🎻 world");
    a.handle_from_server(&from_b).unwrap();
    b.handle_from_server(&from_a).unwrap();
    assert_eq!(a.chart("s").unwrap(), "[G]Hello 🎻 world!");
    assert_eq!(b.chart("s").unwrap(), a.chart("s").unwrap());
    for (old, new) in [("😀😁", "😀😂"), ("x😀", "😀"), ("😀", ""), ("", "ab😀"), ("a😀b", "a😀😀b")]
    {
        let d = SessionDoc::new();
        d.set_chart("t", old);
        d.set_chart("t", new);
        assert_eq!(d.chart("t").unwrap(), new, "{old:?} -> {new:?}");
    }
}

#[test]
fn restoring_a_version_is_one_edit_that_every_replica_merges() {
    let live = SessionDoc::new();
    let song = |id: &str, t: &str| Song {
        id: id.into(),
        title: t.into(),
        key: String::new(),
        tempo: 100.0,
        meter: "4/4".into(),
        notes: String::new(),
    };
    live.set_setlist(&[song("a", "Intro"), song("b", "Ballad")]).unwrap();
    live.set_chart("a", "[C]one");
    let saved = SessionDoc::new();
    saved.apply_update(&live.encode_state()).unwrap();
    let follower = SessionDoc::new();
    follower.apply_update(&live.encode_state()).unwrap();
    live.set_setlist(&[song("b", "Ballad")]).unwrap();
    live.set_chart("a", "[C]one two");
    live.set_chart("c", "new chart");
    let before = live.summary();
    let update = live.restore_from(&saved).expect("something differs");
    assert_eq!(live.setlist(), saved.setlist());
    assert_eq!((live.chart("a").unwrap().as_str(), live.chart("c").unwrap().as_str()), ("[C]one", ""));
    assert_eq!(
        live.summary().describe_change(&before),
        "chart \"Intro\" -4 chars, chart \"c\" -9 chars, setlist +1 song"
    );
    // A replica that never saw the later edits merges the restore to the same state.
    follower.apply_update(&live.encode_state()).unwrap();
    assert_eq!(follower.setlist(), live.setlist());
    assert_eq!(follower.chart("a"), live.chart("a"));
    assert!(live.restore_from(&saved).is_none(), "restoring twice changes nothing");
    drop(update);
}

/// Replicas exchange updates directly, each delivered to each other replica at a random later
/// moment, in any order (not FIFO, not causal) and sometimes twice: yrs holds an update whose
/// dependencies have not arrived and applies it once they do. Every replica ends identical to
/// a reference that applied every update once, in the order they were made; without deletes,
/// every typed token is there exactly once.
fn converge_reordered(seed: u64, members: usize, steps: usize, deletes: bool) {
    let mut rng = Rng(seed | 1);
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

#[test]
fn the_documents_refuse_edits_past_their_size_limit_and_say_so() {
    let server = SessionDoc::new();
    let member = SessionDoc::new();
    let chunk = "x".repeat(900 * 1024);
    let mut accepted = 0;
    let refused = loop {
        let msg = member.insert_chart(&format!("s{accepted}"), 0, &chunk);
        match server.handle(&msg, true) {
            Ok(r) => {
                assert!(r.changed);
                accepted += 1;
            }
            Err(e) => break e,
        }
        assert!(accepted < 20, "never refused");
    };
    assert!(matches!(refused, DocError::TooLarge { limit: MAX_DOC_BYTES, .. }), "{refused}");
    assert!(refused.to_string().contains("the limit is 8388608"), "{refused}");
    assert_eq!(accepted, MAX_DOC_BYTES / (900 * 1024 + 40));
    // Nothing of the refused edit is in the document, and small edits are refused too.
    assert!(server.chart(&format!("s{accepted}")).is_none());
    assert!(server.encode_state().len() <= MAX_DOC_BYTES);
}

#[test]
fn an_edit_summary_of_many_charts_names_the_changed_one() {
    let before = Summary {
        titles: (0..30_000).map(|i| (format!("s{i}"), format!("Song {i}"))).collect(),
        chart_lens: (0..30_000).map(|i| (format!("s{i}"), 10)).collect(),
    };
    let mut after = before.clone();
    after.chart_lens[29_999].1 = 12;
    assert_eq!(after.describe_change(&before), "chart \"Song 29999\" +2 chars");
}
