//! The setlist holds songs only (`crate::shape`): what a crafted update puts anywhere else in it is
//! refused, and honest edits are not. And no document holds Yjs's XML types, anywhere
//! (`crate::lib0`'s guard).

use super::*;
use yrs::updates::decoder::Decode;
use yrs::{Array, ArrayPrelim, Doc, Map, MapPrelim, ReadTxn, Text, TextPrelim, Transact, XmlFragment};

/// A replica with its own client id, as a hostile client's.
fn evil_doc() -> Doc {
    Doc::with_options(Options {
        client_id: yrs::ClientID::new(666),
        offset_kind: OffsetKind::Utf16,
        ..Options::default()
    })
}

/// A hostile replica that starts from `honest`'s state and makes one edit, as raw v1 bytes.
fn crafted(honest: &SessionDoc, edit: impl FnOnce(&Doc)) -> Vec<u8> {
    let evil = evil_doc();
    let state = honest.encode_state();
    evil.transact_mut().apply_update(yrs::Update::decode_v1(&state).unwrap()).unwrap();
    let before = evil.transact().state_vector();
    edit(&evil);
    evil.transact().encode_diff_v1(&before)
}

fn band() -> SessionDoc {
    let d = SessionDoc::new();
    d.set_setlist(&[Song::new("a", "Intro"), Song::new("b", "Seven")]).unwrap();
    d
}

/// A fresh replica of `honest` for each crafted update to be refused by.
fn copy(honest: &SessionDoc) -> SessionDoc {
    let d = SessionDoc::new();
    d.apply_update(&honest.encode_state()).unwrap();
    d
}

fn refused(d: &SessionDoc, u: &[u8], says: &str) {
    let d = &copy(d);
    match d.handle(&update_message(u.to_vec()), true) {
        Err(DocError::Poisoned(why)) => assert!(why.contains(says), "{why:?} does not say {says:?}"),
        other => panic!("a crafted setlist update was not refused: {other:?}"),
    }
}

#[test]
fn a_string_put_into_the_setlist_is_refused() {
    // Characters under the setlist's root name: yrs read the emoji's item without end, and a
    // long string's in quadratic time, whenever the setlist was read (fuzz: stored_rows).
    let emoji = {
        let evil = evil_doc();
        let t = evil.get_or_insert_text("setlist");
        let mut txn = evil.transact_mut();
        t.insert(&mut txn, 0, "🎸 solo");
        txn.encode_update_v1()
    };
    let band = band();
    refused(&band, &emoji, "1 items that read as 0 values");
    let plain = crafted(&band, |evil| {
        let t = evil.get_or_insert_text("setlist");
        t.insert(&mut evil.transact_mut(), 2, "solo");
    });
    refused(&band, &plain, "not a song (a value)");
    // The same, inserted after a song (the item names no parent: its origin does).
    let after_a_song = crafted(&band, |evil| {
        let t = evil.get_or_insert_text("setlist");
        t.insert(&mut evil.transact_mut(), 1, "😀");
    });
    refused(&band, &after_a_song, "read as 0 values");
    // And from storage.
    assert!(matches!(copy(&band).apply_update(&after_a_song), Err(DocError::Poisoned(_))));
}

#[test]
fn plain_values_and_nested_types_in_the_setlist_are_refused() {
    let band = band();
    let value = crafted(&band, |evil| {
        let a = evil.get_or_insert_array("setlist");
        a.push_back(&mut evil.transact_mut(), "just a title");
    });
    refused(&band, &value, "not a song (a value)");
    let nested_in_a_new_song = crafted(&band, |evil| {
        let a = evil.get_or_insert_array("setlist");
        a.push_back(
            &mut evil.transact_mut(),
            MapPrelim::from([
                ("id".to_owned(), yrs::In::from("c")),
                ("title".to_owned(), yrs::In::from(ArrayPrelim::from(["x"]))),
            ]),
        );
    });
    refused(&band, &nested_in_a_new_song, "\"title\" is an array");
    let nested_in_a_song = crafted(&band, |evil| {
        let a = evil.get_or_insert_array("setlist");
        let mut txn = evil.transact_mut();
        let Some(yrs::Out::YMap(song)) = a.get(&txn, 0) else { panic!("no song") };
        song.insert(&mut txn, "notes", TextPrelim::new("🎸"));
    });
    refused(&band, &nested_in_a_song, "\"notes\" set to a text");
}

#[test]
fn xml_types_are_refused_anywhere() {
    let band = band();
    let element = crafted(&band, |evil| {
        let f = evil.get_or_insert_xml_fragment("notes");
        f.insert(&mut evil.transact_mut(), 0, yrs::XmlElementPrelim::empty("p"));
    });
    let text = crafted(&band, |evil| {
        let f = evil.get_or_insert_xml_fragment("notes");
        f.insert(&mut evil.transact_mut(), 0, yrs::XmlTextPrelim::new("la"));
    });
    for u in [element, text] {
        match copy(&band).handle(&update_message(u), true) {
            Err(DocError::Malformed(why)) => assert!(why.contains("XML types are not supported"), "{why}"),
            other => panic!("an XML type was not refused: {other:?}"),
        }
    }
}

#[test]
fn honest_setlist_edits_pass_the_shape_check() {
    let server = band();
    let member = SessionDoc::new();
    member.handle_from_server(&update_message(server.encode_state())).unwrap();
    let mut seven = Song::new("b", "Seven");
    seven.tempo = Some(Tempo(140_000));
    seven.meter = "7/8".into();
    let edits = [
        member.add_song(&Song::new("c", "Coda")).unwrap(),
        member.update_song(&seven).unwrap(),
        member.set_setlist(&[Song::new("c", "Coda"), seven.clone()]).unwrap(),
        member.set_chart("c", "[C]🎸"),
    ];
    for e in edits {
        server.handle(&e, true).unwrap();
    }
    assert_eq!(server.setlist(), member.setlist());
    assert_eq!(server.setlist()[1].tempo, Some(Tempo(140_000)));
}
