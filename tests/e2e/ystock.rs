//! A stock Yjs client (npm's `y-websocket` and `yjs`, run with node) edits a chart through the
//! host's plain y-sync endpoint; the edit reaches a Rust member, and the Rust member's edit reaches
//! the node client. `scripts/test.sh` installs the node packages (`npm ci --prefix tests/node`).

use bandsync_docs::SessionDoc;
use bandsync_e2e::TestServer;
use bandsync_server::ServerConfig;
use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use std::path::Path;
use std::time::Duration;
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio_tungstenite::tungstenite::Message;

#[tokio::test]
async fn stock_y_websocket_and_a_rust_member_edit_the_same_chart() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("node");
    assert!(
        dir.join("node_modules/y-websocket").is_dir(),
        "run `npm ci --prefix tests/node` first (scripts/test.sh does)"
    );
    let ts = TestServer::start(ServerConfig::default()).await;
    let (mut ana, _) = ts.member("Ana", true).await;
    let a = SessionDoc::new();
    ana.ws.send(Message::Binary(a.set_chart("s1", "[C]Intro").into())).await.unwrap();
    ana.ws.send(Message::Binary(a.sync_step1().into())).await.unwrap();
    // Wait until the server holds the chart: its step 2 answer comes after our update.
    ana.send(json!({"type": "heartbeat", "n": 1})).await;
    ana.recv_type("heartbeat").await;

    let mut node = tokio::process::Command::new("node")
        .arg(dir.join("ystock.mjs"))
        .args([&format!("ws://{}/doc", ts.addr()), &ts.session, &ts.secret, "s1", "from rust"])
        .stdout(std::process::Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("node runs");
    let mut lines = BufReader::new(node.stdout.take().unwrap()).lines();
    let mut next = async || -> Value {
        let l = tokio::time::timeout(Duration::from_secs(20), lines.next_line()).await.expect("node in time");
        serde_json::from_str(&l.unwrap().expect("node printed a line")).unwrap()
    };
    let synced = next().await;
    assert_eq!((synced["event"].as_str(), synced["chart"].as_str()), (Some("synced"), Some("[C]Intro")), "{synced}");
    assert_eq!(next().await["event"], "edited");

    // The node client's edit reaches the Rust member...
    let end = tokio::time::Instant::now() + Duration::from_secs(10);
    while a.chart("s1").as_deref() != Some("[C]Intro [G]from node") {
        let f = tokio::time::timeout_at(end, ana.ws.next()).await.expect("node's edit reaches Ana");
        if let Some(Ok(Message::Binary(b))) = f {
            for back in a.handle_from_server(&b).unwrap() {
                ana.ws.send(Message::Binary(back.into())).await.unwrap();
            }
        }
    }
    // ...and the Rust member's edit reaches the node client.
    ana.ws.send(Message::Binary(a.insert_chart("s1", 0, "from rust: ").into())).await.unwrap();
    let saw = next().await;
    assert_eq!(saw["event"], "saw", "{saw}");
    assert_eq!(saw["chart"], "from rust: [C]Intro [G]from node");
    assert!(node.wait().await.unwrap().success());
}
