//! Ableton Link in the app (the `link` feature), against an independent Link peer: `aalink` from
//! Python's registry, which wraps Ableton's own Link. Link is multicast, so the test runs itself
//! again inside a network namespace of its own (`unshare -rn`), where the app hosts with Link on
//! and the peer plays the part of Ableton Live. The CLI's test (`crates/cli/tests/link.rs`)
//! measures the bridge's timing and phase; this one holds the app's setting and events.
#![cfg(feature = "link")]

use bandsync_app::events::{AppEvent, AudioSettings, LinkStatus};
use bandsync_app::{App, AppOptions, Sink};
use bandsync_core::timeline::Tempo;
use bandsync_core::{ClientMsg, ServerMsg};
use bandsync_e2e::stream::until;
use serde_json::Value;
use std::io::{BufRead, BufReader, Write};
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::mpsc;

const NAME: &str = "the_app_and_a_link_peer_follow_each_other";

/// The peer: reads a command per line (`tempo BPM`, `play`, `status`), answers each with its
/// state as JSON.
const PEER: &str = r#"
import asyncio, json, sys
from aalink import Link

async def main():
    link = Link(120)
    link.quantum = 4
    link.start_stop_sync_enabled = True
    link.enabled = True
    loop = asyncio.get_running_loop()
    while True:
        line = (await loop.run_in_executor(None, sys.stdin.readline)).split()
        if not line:
            return
        if line[0] == "tempo":
            link.tempo = float(line[1])
        elif line[0] == "play":
            link.playing = True
        print(json.dumps({"peers": link.num_peers, "tempo": link.tempo, "playing": link.playing}), flush=True)

asyncio.run(main())
"#;

struct LinkPeer {
    child: Child,
    stdin: ChildStdin,
    stdout: BufReader<ChildStdout>,
}

impl LinkPeer {
    fn start() -> LinkPeer {
        let py = bandsync_e2e::process::python_peers();
        let mut child =
            Command::new(&py).args(["-c", PEER]).stdin(Stdio::piped()).stdout(Stdio::piped()).spawn().unwrap_or_else(
                |e| panic!("{} runs (aalink from PyPI; scripts/lib.sh installs it): {e}", py.display()),
            );
        let (stdin, stdout) = (child.stdin.take().unwrap(), BufReader::new(child.stdout.take().unwrap()));
        LinkPeer { child, stdin, stdout }
    }

    fn say(&mut self, cmd: &str) -> Value {
        writeln!(self.stdin, "{cmd}").unwrap();
        let mut line = String::new();
        self.stdout.read_line(&mut line).unwrap();
        serde_json::from_str(&line).unwrap_or_else(|e| panic!("the peer said {line:?}: {e}"))
    }

    /// Asks for the peer's state until `ok` holds for it, for up to 10 s.
    fn until(&mut self, what: &str, ok: impl Fn(&Value) -> bool) -> Value {
        let end = Instant::now() + Duration::from_secs(10);
        loop {
            let v = self.say("status");
            if ok(&v) {
                return v;
            }
            assert!(Instant::now() < end, "the peer never showed {what}: {v}");
            std::thread::sleep(Duration::from_millis(10));
        }
    }
}

impl Drop for LinkPeer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn link(ev: &AppEvent) -> Option<LinkStatus> {
    if let AppEvent::Link { link } = ev { Some(*link) } else { None }
}

fn transport(ev: &AppEvent) -> Option<bandsync_core::Transport> {
    if let AppEvent::Server { msg: ServerMsg::Transport { transport, .. } } = ev {
        Some(transport.clone())
    } else {
        None
    }
}

#[test]
fn the_app_and_a_link_peer_follow_each_other() {
    if !bandsync_e2e::netns::inside(NAME) {
        return;
    }
    tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap().block_on(inside());
}

async fn inside() {
    let opts = AppOptions {
        bind: "127.0.0.1:0".parse().unwrap(),
        mdns: false,
        latency_store: Some(bandsync_e2e::scratch_latency_store()),
        ..AppOptions::default()
    };
    let app = App::new(opts);
    app.set_audio(AudioSettings { enabled: false, ..AudioSettings::default() }).await.unwrap();
    assert_eq!(app.link_status(), LinkStatus { available: true, on: false, peers: 0 });
    // The setting before the session: the session starts with Link on.
    app.set_link(true).await.unwrap();
    let (tx, mut rx) = mpsc::unbounded_channel();
    let sink: Arc<dyn Sink<AppEvent>> = Arc::new(move |e: AppEvent| tx.send(e).is_ok());
    app.host_session("Link gig", "Lena", None, sink).await.unwrap();
    until(&mut rx, "Link on", |e| link(e).filter(|l| l.on)).await;

    let mut peer = LinkPeer::start();
    let l = until(&mut rx, "the peer in the app's Link status", |e| link(e).filter(|l| l.peers >= 1)).await;
    eprintln!("LINK-APP the app sees the peer: {l:?}");
    peer.until("the app as a Link peer", |v| v["peers"].as_u64() >= Some(1));

    // The leader's tempo (the session is stopped, so it lands at once) reaches the peer.
    app.send_msg(ClientMsg::Tempo { tempo: Tempo::from_bpm(100.0).unwrap() }).await.unwrap();
    peer.until("the session's 100 BPM", |v| (v["tempo"].as_f64().unwrap() - 100.0).abs() < 0.01);

    // Link's whole range (its test plan's TEMPO-4: 20 to 999 BPM) reaches the peer as it is.
    for bpm in [20.0, 999.0] {
        app.send_msg(ClientMsg::Tempo { tempo: Tempo::from_bpm(bpm).unwrap() }).await.unwrap();
        peer.until(&format!("the session's {bpm} BPM"), |v| (v["tempo"].as_f64().unwrap() - bpm).abs() < 0.01);
    }

    // Live's tempo knob becomes the session's tempo, through the leader's authority, at either
    // end of Link's range too, and turned again at once: a stopped session takes each turn
    // without putting Link back or committing it again (either could cross the next turn).
    for bpm in [20.0, 999.0, 128.0] {
        peer.say(&format!("tempo {bpm}"));
        until(&mut rx, &format!("the session at {bpm} BPM"), |e| {
            transport(e).filter(|t| t.latest().timeline.tempo == Tempo::from_bpm(bpm).unwrap())
        })
        .await;
    }
    // Live's play starts the band, on Live's bar.
    peer.say("play");
    let t = until(&mut rx, "the session playing", |e| transport(e).filter(|t| t.latest().playing)).await;
    eprintln!("LINK-APP Live's play: the session starts at host time {:?}", t.latest().at);

    // Off: the app leaves the Link session, and says so.
    app.set_link(false).await.unwrap();
    until(&mut rx, "Link off", |e| link(e).filter(|l| !l.on)).await;
    peer.until("the app gone from Link", |v| v["peers"] == 0);
    app.leave_session().await.unwrap();
}
