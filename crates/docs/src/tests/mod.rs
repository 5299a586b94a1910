//! The documents' editing rules; convergence in simulated networks is in [`convergence`].

mod convergence;
mod shape;

use super::*;
use bandsync_core::Tempo;

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
            tempo: Some(Tempo(92_000)),
            meter: "4/4".into(),
            notes: String::new(),
            midi: String::new(),
            flow: String::new(),
        },
        Song {
            id: "b".into(),
            title: "Seven".into(),
            key: "D".into(),
            tempo: Some(Tempo(140_500)),
            meter: "7/8".into(),
            notes: "2+2+3".into(),
            midi: "bank 0:1; pc 12".into(),
            flow: String::new(),
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

/// A document written before protocol 4 holds a song's tempo as BPM (a float, or an integer as
/// Yjs writes a whole number): it reads as the same tempo, and an edit stores milli-BPM.
#[test]
fn an_older_document_s_bpm_reads_as_milli_bpm_and_an_edit_stores_milli_bpm() {
    use yrs::{Any, Array, Map, MapPrelim, Transact};
    let old = SessionDoc::new();
    let update = old.edit(|txn| {
        for (id, tempo) in [("a", Any::from(96.5)), ("b", Any::from(120)), ("c", Any::Null)] {
            let m: MapPrelim = MapPrelim::from([
                ("id".to_owned(), yrs::In::from(id)),
                ("title".to_owned(), yrs::In::from(id.to_uppercase())),
                ("tempo".to_owned(), yrs::In::Any(tempo)),
            ]);
            old.setlist.push_back(txn, m);
        }
    });
    let d = SessionDoc::new();
    d.handle(&update, true).unwrap();
    let tempos: Vec<_> = d.setlist().iter().map(|s| s.tempo).collect();
    assert_eq!(tempos, [Some(Tempo(96_500)), Some(Tempo(120_000)), None]);
    let mut b = d.setlist()[1].clone();
    b.tempo = Some(Tempo(133_333));
    d.update_song(&b).unwrap();
    let txn = d.doc.transact();
    let Some(yrs::Out::YMap(m)) = d.setlist.get(&txn, 1) else { panic!("song b") };
    let stored = m.get(&txn, "tempo");
    assert!(
        matches!(stored, Some(yrs::Out::Any(Any::Number(yrs::any::Number::Int(133_333))))),
        "an integer, as Yjs writes one: {stored:?}"
    );
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
        tempo: Some(Tempo(100_000)),
        meter: "4/4".into(),
        notes: String::new(),
        midi: String::new(),
        flow: String::new(),
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

#[test]
fn documents_filled_with_charts_are_refused_without_encoding_them_whole() {
    // An editor filling the documents with 60 KiB charts as fast as it may (a new member for
    // each: one member's next update would follow the one refused). The charts' own text says
    // they are full: the 8 MiB document is never encoded whole on the session's task to decide.
    let server = SessionDoc::new();
    let chunk = "x".repeat(60 * 1024);
    let (mut accepted, mut refused) = (0, 0);
    for i in 0..160 {
        match server.handle(&SessionDoc::new().insert_chart(&format!("c{i}"), 0, &chunk), true) {
            Ok(_) => accepted += 1,
            Err(DocError::TooLarge { size, .. }) => {
                refused += 1;
                assert!(size <= server.encode_state().len(), "the size it gives is at most the size");
            }
            Err(e) => panic!("{e}"),
        }
    }
    assert!(accepted >= 130 && refused >= 20, "{accepted} accepted, {refused} refused");
    assert!(server.encode_state().len() <= MAX_DOC_BYTES);
    assert_eq!(server.measured.load(Ordering::Relaxed), 0, "encoded whole to decide");
    // Emptied charts no longer count: the next chart is measured, and fits.
    let band = SessionDoc::new();
    band.apply_update(&server.encode_state()).unwrap();
    for i in 0..2 {
        server.handle(&band.set_chart(&format!("c{i}"), ""), true).expect("a deletion always fits");
    }
    server.handle(&SessionDoc::new().insert_chart("fits", 0, &chunk), true).expect("room after the deletions");
    assert_eq!(server.measured.load(Ordering::Relaxed), 1);
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
    // Refused again (without measuring: nothing changed), until an edit makes room: the band
    // empties a chart, and the next one fits again.
    // (A replica of what the server holds: the first member's next edits would follow the one
    // refused, and be refused for the gap.)
    let band = SessionDoc::new();
    band.apply_update(&server.encode_state()).unwrap();
    let again = band.insert_chart("again", 0, &chunk);
    let refused = server.handle(&again, true).unwrap_err();
    assert!(matches!(refused, DocError::TooLarge { .. }), "{refused}");
    let band = SessionDoc::new();
    band.apply_update(&server.encode_state()).unwrap();
    server.handle(&band.set_chart("s0", ""), true).expect("a deletion always fits");
    let fits = SessionDoc::new().insert_chart("fits", 0, &chunk);
    server.handle(&fits, true).expect("room again after the deletion");
    assert_eq!(server.chart("fits").map(|c| c.len()), Some(chunk.len()));
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

/// Found by the `ysync` fuzz target's ten-minute run (2026-12-04; the input is the corpus's
/// `regress-skip-overrun-overflow`): a frame whose update makes yrs subtract with overflow as it
/// integrates a struct over a skip. Refused, not a panic: the server reloads its documents, and
/// a member's replica takes the same frame from a server without panicking either.
#[test]
fn an_update_that_breaks_yrs_arithmetic_as_it_integrates_is_refused_not_a_panic() {
    let frame = include_bytes!("../../../../fuzz/corpus/ysync/regress-skip-overrun-overflow");
    let doc = SessionDoc::new();
    doc.add_song(&Song::new("s1", "Wonderwall")).unwrap();
    doc.set_chart("s1", "[Em7]Today is [G]gonna be the day");
    assert!(doc.handle(frame, true).is_err(), "refused");
    let member = SessionDoc::new();
    let _ = member.handle_from_server(frame);
}
