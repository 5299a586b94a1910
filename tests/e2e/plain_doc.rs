//! The plain y-sync endpoint (`/doc/{session}`) that stock y-websocket uses: its secret, relaying
//! both ways with a member, and the view-only link's read-only peer.

use crate::journal::{recv_type_doc, send_doc};
use bandsync_docs::SessionDoc;
use bandsync_e2e::TestServer;
use bandsync_server::ServerConfig;
use futures_util::{SinkExt, StreamExt};
use serde_json::json;
use std::time::Duration;
use tokio_tungstenite::tungstenite::Message;

#[tokio::test]
async fn the_plain_y_sync_endpoint_needs_the_secret_and_relays_both_ways() {
    let ts = TestServer::start(ServerConfig::default()).await;
    let (mut ana, _) = ts.member("Ana", true).await;
    let a = SessionDoc::new();
    send_doc(&mut ana, a.sync_step1()).await;

    let bad = format!("ws://{}/doc/{}?k=wrong", ts.addr(), ts.session);
    let (mut ws, _) = tokio_tungstenite::connect_async(bad).await.unwrap();
    match tokio::time::timeout(Duration::from_secs(5), ws.next()).await.unwrap() {
        Some(Ok(Message::Close(Some(f)))) => {
            assert_eq!(u16::from(f.code), 1008);
            assert!(f.reason.starts_with("bad_secret"), "{}", f.reason);
        }
        other => panic!("expected a close, got {other:?}"),
    }
    let (status, body) = ts.get(&format!("/doc/{}", ts.session)).await;
    assert_eq!((status, body["error"]["code"].as_str()), (401, Some("auth_required")));

    let good = format!("ws://{}/doc/{}?k={}", ts.addr(), ts.session, ts.secret);
    let (mut ws, _) = tokio_tungstenite::connect_async(good).await.unwrap();
    let y = SessionDoc::new();
    ws.send(Message::Binary(y.sync_step1().into())).await.unwrap();
    ws.send(Message::Binary(y.set_chart("s1", "from y-websocket").into())).await.unwrap();
    // Ana (a participant) gets the peer's edit...
    let end = tokio::time::Instant::now() + Duration::from_secs(5);
    while a.chart("s1").as_deref() != Some("from y-websocket") {
        assert!(tokio::time::Instant::now() < end);
        ana.send(json!({"type": "heartbeat"})).await;
        recv_type_doc(&mut ana, &a, "heartbeat").await;
    }
    // ...and the peer gets Ana's.
    send_doc(&mut ana, a.insert_chart("s1", 0, "Ana: ")).await;
    while y.chart("s1").as_deref() != Some("Ana: from y-websocket") {
        match tokio::time::timeout(Duration::from_secs(5), ws.next()).await.unwrap() {
            Some(Ok(Message::Binary(b))) => {
                for back in y.handle_from_server(&b).unwrap() {
                    ws.send(Message::Binary(back.into())).await.unwrap();
                }
            }
            Some(Ok(_)) => {}
            other => panic!("{other:?}"),
        }
    }
    // Text is not y-sync: the peer is closed with a reason, and the session carries on.
    ws.send(Message::Text("hello".into())).await.unwrap();
    loop {
        match tokio::time::timeout(Duration::from_secs(5), ws.next()).await.unwrap() {
            Some(Ok(Message::Close(Some(f)))) => {
                assert_eq!(u16::from(f.code), 1008);
                break;
            }
            Some(Ok(_)) => {}
            other => panic!("{other:?}"),
        }
    }
    ana.send(json!({"type": "heartbeat", "n": 7})).await;
    assert_eq!(recv_type_doc(&mut ana, &a, "heartbeat").await["n"], 7);
}

/// Reads `ws` (a plain y-sync peer with documents `y`), answering sync steps, until `done`.
async fn read_until(ws: &mut PlainPeer, y: &SessionDoc, done: impl Fn(&SessionDoc) -> bool) {
    while !done(y) {
        match tokio::time::timeout(Duration::from_secs(5), ws.next()).await.expect("in time") {
            Some(Ok(Message::Binary(b))) => {
                for back in y.handle_from_server(&b).unwrap() {
                    ws.send(Message::Binary(back.into())).await.unwrap();
                }
            }
            Some(Ok(_)) => {}
            other => panic!("{other:?}"),
        }
    }
}

type PlainPeer = tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

#[tokio::test]
async fn the_view_only_link_reads_the_documents_on_the_plain_endpoint_and_cannot_change_them() {
    let ts = TestServer::start(ServerConfig::default()).await;
    let (mut ana, _) = ts.member("Ana", true).await;
    let a = SessionDoc::new();
    let view =
        recv_type_doc(&mut ana, &a, "credentials").await["viewer"].as_str().expect("a view-only link").to_owned();
    send_doc(&mut ana, a.sync_step1()).await;
    send_doc(&mut ana, a.set_chart("s1", "the chart")).await;

    let url = format!("ws://{}/doc/{}?k={view}", ts.addr(), ts.session);
    let (mut ws, _) = tokio_tungstenite::connect_async(url).await.unwrap();
    let y = SessionDoc::new();
    ws.send(Message::Binary(y.sync_step1().into())).await.unwrap();
    read_until(&mut ws, &y, |y| y.chart("s1").as_deref() == Some("the chart")).await;
    // Its edit is refused: the connection closes and says why; nobody else sees the edit.
    ws.send(Message::Binary(y.insert_chart("s1", 0, "viewer: ").into())).await.unwrap();
    loop {
        match tokio::time::timeout(Duration::from_secs(5), ws.next()).await.unwrap() {
            Some(Ok(Message::Close(Some(f)))) => {
                assert_eq!(u16::from(f.code), 1008);
                assert!(f.reason.starts_with("read_only"), "{}", f.reason);
                break;
            }
            Some(Ok(_)) => {}
            other => panic!("{other:?}"),
        }
    }
    // A second plain peer, on the members' link, finds the chart as Ana wrote it.
    let url = format!("ws://{}/doc/{}?k={}", ts.addr(), ts.session, ts.secret);
    let (mut ws, _) = tokio_tungstenite::connect_async(url).await.unwrap();
    let z = SessionDoc::new();
    ws.send(Message::Binary(z.sync_step1().into())).await.unwrap();
    read_until(&mut ws, &z, |z| z.chart("s1").is_some()).await;
    assert_eq!(z.chart("s1").as_deref(), Some("the chart"));
    ana.send(json!({"type": "heartbeat", "n": 8})).await;
    assert_eq!(recv_type_doc(&mut ana, &a, "heartbeat").await["n"], 8);
    assert_eq!(a.chart("s1").as_deref(), Some("the chart"));
}
