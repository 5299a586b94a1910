//! Benchmarks of the collaborative documents (issue #6), printed as a Markdown table.
//!
//! ```text
//! cargo bench -p bandsync-e2e --bench docs
//! ```
//!
//! 1. **Remote update overhead.** The first 20 000 updates of an editing trace, applied one by
//!    one as a remote member's frames, by raw yrs (`Update::decode_v1` + `apply_update`) and by
//!    BandSync's server path (`SessionDoc::handle`: parse the y-sync frame, check it whole, apply,
//!    build the relay frame). The difference is BandSync's overhead per update.
//! 2. **Loading a large document.** A synthetic trace the size of the automerge-paper trace
//!    (259 778 edits: 182 315 inserts and 77 463 deletes, 104 852 characters at the end, typed
//!    with a moving cursor), saved as one snapshot in SQLite; loading is reading it back and
//!    applying it to a fresh document. The real trace is not in any package registry, so its
//!    shape is reproduced: same counts, same final length, one transaction per keystroke.
//! 3. **Storage size** of that document: the encoded state and the SQLite file.
//! 4. **Propagation with 5 editors on loopback**: five members of one session each type 20
//!    characters a second into the same chart for 10 s; each frame's latency is measured from the
//!    moment its author sends it to the moment each of the four others receives it.

use bandsync_docs::{SessionDoc, update_message};
use bandsync_server::{RunningServer, ServerConfig};
use bandsync_sim::rng::Rng;
use bandsync_sim::stats::quantile;
use futures_util::{SinkExt, StreamExt};
use serde_json::json;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio_tungstenite::tungstenite::Message;
use yrs::updates::decoder::Decode;
use yrs::{GetString, ReadTxn, Text, Transact};

const INSERTS: usize = 182_315;
const DELETES: usize = 77_463;

/// A typist's trace as raw v1 updates, one per keystroke, with a cursor that mostly moves by
/// typing and backspacing and sometimes jumps, like a person editing a paper.
fn trace() -> (Vec<Vec<u8>>, String) {
    let doc = yrs::Doc::with_options(yrs::Options { offset_kind: yrs::OffsetKind::Utf16, ..Default::default() });
    let charts = doc.get_or_insert_map("charts");
    let text = {
        let mut txn = doc.transact_mut();
        yrs::Map::insert(&charts, &mut txn, "paper", yrs::TextPrelim::new(""))
    };
    let mut updates = Vec::with_capacity(INSERTS + DELETES + 1);
    updates.push(doc.transact().encode_state_as_update_v1(&yrs::StateVector::default()));
    let (mut ins, mut del, mut len, mut cursor) = (0usize, 0usize, 0u32, 0u32);
    let mut rng = Rng::new(0x5eed);
    let letters = b"etaoin shrdlu cmfwyp vbgkqj xz,.\n[C]";
    // Runs of typing (about 20 keys) and of backspacing (about 8), keeping the trace's
    // insert/delete ratio; a fifth of the runs start somewhere else in the text.
    while ins < INSERTS || del < DELETES {
        let deleting =
            del < DELETES && (ins >= INSERTS || rng.below(INSERTS as u64 * 8 / 20 + DELETES as u64) < DELETES as u64);
        let run = if deleting { 1 + rng.below(16) } else { 1 + rng.below(40) };
        if rng.below(5) == 0 {
            cursor = rng.below(u64::from(len) + 1) as u32;
        }
        for _ in 0..run {
            let mut txn = doc.transact_mut();
            if deleting {
                if cursor == 0 || del >= DELETES {
                    break;
                }
                text.remove_range(&mut txn, cursor - 1, 1);
                cursor -= 1;
                len -= 1;
                del += 1;
            } else {
                if ins >= INSERTS {
                    break;
                }
                let c = letters[rng.below(letters.len() as u64) as usize] as char;
                text.insert(&mut txn, cursor, &c.to_string());
                cursor += 1;
                len += 1;
                ins += 1;
            }
            updates.push(txn.encode_update_v1());
        }
    }
    let s = text.get_string(&doc.transact());
    (updates, s)
}

fn main() {
    let t = Instant::now();
    let (updates, final_text) = trace();
    eprintln!(
        "trace: {} updates, {} chars, built in {:.1} s",
        updates.len(),
        final_text.chars().count(),
        t.elapsed().as_secs_f64()
    );
    println!("| measure | value |");
    println!("|---|---|");

    // 1. Remote update overhead.
    let n = 20_000.min(updates.len());
    let frames: Vec<Vec<u8>> = updates[..n].iter().map(|u| update_message(u.clone())).collect();
    let (mut raw, mut ours) = (Vec::new(), Vec::new());
    for _ in 0..7 {
        let doc = yrs::Doc::with_options(yrs::Options { offset_kind: yrs::OffsetKind::Utf16, ..Default::default() });
        let t = Instant::now();
        for u in &updates[..n] {
            let u = yrs::Update::decode_v1(u).unwrap();
            doc.transact_mut().apply_update(u).unwrap();
        }
        raw.push(t.elapsed().as_secs_f64() * 1e9 / n as f64);
        let doc = SessionDoc::new();
        let t = Instant::now();
        for f in &frames {
            let r = doc.handle(f, true).unwrap();
            std::hint::black_box(r);
        }
        ours.push(t.elapsed().as_secs_f64() * 1e9 / n as f64);
    }
    let (raw, ours) = (quantile(&raw, 0.5), quantile(&ours, 0.5));
    println!("| apply a remote update, raw yrs (median of 7 runs × {n} updates) | {raw:.0} ns |");
    println!("| apply a remote update, BandSync server path (`SessionDoc::handle`) | {ours:.0} ns |");
    println!("| BandSync overhead per update | {:.0} ns ({:.2}×) |", ours - raw, ours / raw);

    // 2 and 3. Load and size.
    let full = SessionDoc::new();
    for u in &updates {
        full.apply_update(u).unwrap();
    }
    assert_eq!(full.chart("paper").unwrap(), final_text);
    let state = full.encode_state();
    let dir = std::env::temp_dir().join(format!("bandsync-docs-bench-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let store = bandsync_server::store::Store::open(&dir).unwrap();
    let stored = bandsync_server::store::StoredSession {
        id: "s".into(),
        name: "Bench".into(),
        secret: "k".into(),
        leader_secret: None,
        viewer_secret: None,
        pin: None,
    };
    store.put_session(&stored, 0).unwrap();
    // What the server keeps for a session: a compacted snapshot (the log is folded every 500).
    for u in updates.iter().rev().take(bandsync_server::store::COMPACT_AFTER as usize) {
        if store.append_update("s", u).unwrap() {
            store.compact("s", |_, _| Ok(state.clone())).unwrap();
        }
    }
    let mut loads = Vec::new();
    for _ in 0..15 {
        let t = Instant::now();
        let (snap, log) = store.document("s").unwrap();
        let d = SessionDoc::new();
        if let Some(s) = snap {
            d.apply_update(&s).unwrap();
        }
        for u in log {
            d.apply_update(&u).unwrap();
        }
        loads.push(t.elapsed().as_secs_f64() * 1e3);
        assert_eq!(d.chart("paper").unwrap().len(), final_text.len());
    }
    let mut decode_only = Vec::new();
    for _ in 0..15 {
        let t = Instant::now();
        let d = SessionDoc::new();
        d.apply_update(&state).unwrap();
        decode_only.push(t.elapsed().as_secs_f64() * 1e3);
    }
    let file = std::fs::metadata(dir.join("bandsync.sqlite3")).map_or(0, |m| m.len())
        + std::fs::metadata(dir.join("bandsync.sqlite3-wal")).map_or(0, |m| m.len());
    println!(
        "| load the automerge-paper-sized document ({} edits, {} chars) from SQLite (median of 15) | {:.2} ms |",
        updates.len() - 1,
        final_text.chars().count(),
        quantile(&loads, 0.5)
    );
    println!("| of which applying the snapshot (median of 15) | {:.2} ms |", quantile(&decode_only, 0.5));
    println!(
        "| encoded state (yrs v1) | {} KiB ({:.2} bytes per final char) |",
        state.len() / 1024,
        state.len() as f64 / final_text.len() as f64
    );
    println!("| SQLite file with that session (database + WAL) | {} KiB |", file / 1024);
    drop(store);
    let _ = std::fs::remove_dir_all(&dir);

    // 4. Propagation with 5 editors.
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    let (lat, total) = rt.block_on(propagation(5, 20.0, Duration::from_secs(10)));
    let sent = total;
    println!(
        "| propagation, 5 editors × 20 keystrokes/s on loopback: p50 / p99 / max ({} deliveries of {} edits) | {:.2} / {:.2} / {:.2} ms |",
        lat.len(),
        sent,
        quantile(&lat, 0.5),
        quantile(&lat, 0.99),
        quantile(&lat, 1.0)
    );
}

async fn propagation(editors: usize, rate: f64, secs: Duration) -> (Vec<f64>, usize) {
    let server = RunningServer::start("127.0.0.1:0".parse().unwrap(), ServerConfig::default()).await.unwrap();
    let h = server.hub.create_session("Bench").unwrap();
    let (sid, secret) = (h.info().id, h.first_secret().expose().to_owned());
    let sent: Arc<Mutex<HashMap<Vec<u8>, Instant>>> = Arc::default();
    let lat: Arc<Mutex<Vec<f64>>> = Arc::default();
    // Everyone joins and syncs first; the chart exists before anyone types.
    let mut socks = Vec::new();
    for i in 0..editors {
        let (mut ws, _) = tokio_tungstenite::connect_async(format!("ws://{}/ws", server.addr)).await.unwrap();
        let j = json!({"type": "join", "v": bandsync_core::PROTOCOL_VERSION, "session": sid, "name": format!("E{i}"), "secret": secret});
        ws.send(Message::Text(j.to_string().into())).await.unwrap();
        socks.push(ws);
    }
    let seed = SessionDoc::new();
    socks[0].send(Message::Binary(seed.set_chart("s", "").into())).await.unwrap();
    tokio::time::sleep(Duration::from_millis(300)).await;
    let seed_state = seed.encode_state();
    let end = Instant::now() + secs;
    let mut tasks = Vec::new();
    for (i, ws) in socks.into_iter().enumerate() {
        let (sent, lat, seed_state) = (sent.clone(), lat.clone(), seed_state.clone());
        tasks.push(tokio::spawn(async move {
            let (mut tx, mut rx) = ws.split();
            let doc = SessionDoc::new();
            doc.apply_update(&seed_state).unwrap();
            let reader = {
                let sent = sent.clone();
                let lat = lat.clone();
                tokio::spawn(async move {
                    while let Some(Ok(m)) = rx.next().await {
                        if let Message::Binary(b) = m {
                            let at = Instant::now();
                            if let Some(t0) = sent.lock().unwrap().get(b.as_ref()) {
                                lat.lock().unwrap().push((at - *t0).as_secs_f64() * 1e3);
                            }
                        }
                    }
                })
            };
            let mut tick = tokio::time::interval(Duration::from_secs_f64(1.0 / rate));
            let mut n = 0usize;
            // Stagger the editors so that their keystrokes interleave.
            tokio::time::sleep(Duration::from_millis(10 * i as u64)).await;
            while Instant::now() < end {
                tick.tick().await;
                let frame = doc.insert_chart("s", 0, &format!("{}", (b'a' + i as u8) as char));
                sent.lock().unwrap().insert(frame.clone(), Instant::now());
                tx.send(Message::Binary(frame.into())).await.unwrap();
                n += 1;
            }
            tokio::time::sleep(Duration::from_millis(500)).await;
            reader.abort();
            n
        }));
    }
    let mut total = 0;
    for t in tasks {
        total += t.await.unwrap();
    }
    server.shutdown().await.unwrap();
    let v = lat.lock().unwrap().clone();
    (v, total)
}
