//! A member that joined with a protocol version that reads the documents otherwise (below
//! `DOCS_PROTOCOL_VERSION`: version 4 stores a setlist tempo in milli-BPM, where a version-3 member
//! reads BPM). It keeps the session, but gets no document frames, and its own are refused clearly:
//! it never shows a tempo a thousand times too fast, nor writes one back.

use crate::journal::{recv_type_doc, send_doc, song};
use bandsync_core::protocol::DOCS_PROTOCOL_VERSION;
use bandsync_docs::SessionDoc;
use bandsync_e2e::TestServer;
use bandsync_server::ServerConfig;
use futures_util::StreamExt;
use serde_json::json;
use std::time::Duration;
use tokio_tungstenite::tungstenite::Message;

#[tokio::test]
async fn an_older_member_gets_no_document_frames_and_its_own_are_refused_with_why() {
    let ts = TestServer::start(ServerConfig::default()).await;
    let (mut ana, _) = ts.member("Ana", true).await;
    let (mut ben, _) = ts.member("Ben", false).await;
    let mut olga = ts.raw().await;
    let v = DOCS_PROTOCOL_VERSION - 1;
    olga.send(json!({"type": "join", "v": v, "session": ts.session, "name": "Olga", "secret": ts.secret})).await;
    assert_eq!(olga.recv_type("welcome").await["v"], bandsync_core::PROTOCOL_VERSION);

    // Her sync is refused, with what to do; the session goes on for her.
    send_doc(&mut olga, SessionDoc::new().sync_step1()).await;
    let e = olga.recv_type("error").await;
    assert_eq!((e["code"].as_str(), e["about"].as_str()), (Some("version_unsupported"), Some("doc")), "{e}");
    assert!(e["message"].as_str().is_some_and(|m| m.contains("Update this app")), "{e}");

    // Ana's setlist reaches Ben, and not Olga: she hears Ana's chat, sent after it, with no
    // document frame before it.
    let a = SessionDoc::new();
    send_doc(&mut ana, a.set_setlist(&[song("s1", "Money", 96_500, "7/4")]).unwrap()).await;
    ana.send(json!({"type": "chat", "text": "after the setlist"})).await;
    let b = SessionDoc::new();
    recv_type_doc(&mut ben, &b, "chat").await;
    assert_eq!(b.setlist()[0].tempo, Some(bandsync_core::Tempo(96_500)), "Ben has the setlist");
    let mut frames = 0;
    loop {
        match tokio::time::timeout(Duration::from_secs(5), olga.ws.next()).await.expect("Ana's chat in time") {
            Some(Ok(Message::Binary(_))) => frames += 1,
            Some(Ok(Message::Text(t))) if t.contains("after the setlist") => break,
            Some(Ok(_)) => {}
            other => panic!("Olga's connection ended: {other:?}"),
        }
    }
    assert_eq!(frames, 0, "no document frame reaches a member that reads them otherwise");
}

/// A connection refused at its first join may join again, with another version: then it is
/// judged by that one.
#[tokio::test]
async fn a_connection_that_joins_again_with_the_current_version_gets_the_documents() {
    let ts = TestServer::start(ServerConfig::default()).await;
    let mut pat = ts.raw().await;
    let old = DOCS_PROTOCOL_VERSION - 1;
    pat.send(json!({"type": "join", "v": old, "session": ts.session, "name": "Pat", "secret": "stale"})).await;
    assert_eq!(pat.recv_error().await, "bad_secret");
    let v = bandsync_core::PROTOCOL_VERSION;
    pat.send(json!({"type": "join", "v": v, "session": ts.session, "name": "Pat", "secret": ts.secret})).await;
    pat.recv_type("welcome").await;
    // Her sync step 1 is answered with the host's step 2, a binary frame, and no error.
    send_doc(&mut pat, SessionDoc::new().sync_step1()).await;
    loop {
        match tokio::time::timeout(Duration::from_secs(5), pat.ws.next()).await.expect("an answer in time") {
            Some(Ok(Message::Binary(_))) => break,
            Some(Ok(Message::Text(t))) => assert!(!t.contains("\"error\""), "{t}"),
            Some(Ok(_)) => {}
            other => panic!("Pat's connection ended: {other:?}"),
        }
    }
}
