//! The member process of the load benchmark: every member connection, joined before "go"; then
//! each session's leader sends its tempo changes at a fixed rate (and every member pings, in the
//! scenarios with clock sync), and every member notes when each change and pong reaches it.

use futures_util::{SinkExt, StreamExt};
use serde_json::json;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};
use tokio_tungstenite::tungstenite::Message;

/// The member process: connects and joins everyone, waits for "go", runs the load, prints results.
pub fn main(args: &[String]) {
    let addr = args[0].clone();
    let members: usize = args[1].parse().unwrap();
    let rate: f64 = args[2].parse().unwrap();
    let secs: f64 = args[3].parse().unwrap();
    let ping_ms: u64 = args[4].parse().unwrap();
    let ids: Vec<String> = args[5..].to_vec();
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    rt.block_on(async move {
        let start = Instant::now();
        let per_session = ((rate * secs) as usize).max(1);
        // Send times of each change, per session, in ns since `start` (0 = not sent).
        let sent: Arc<Vec<Vec<AtomicU64>>> =
            Arc::new(ids.iter().map(|_| (0..per_session).map(|_| AtomicU64::new(0)).collect()).collect());
        let mut leaders = Vec::new();
        let mut pingers = Vec::new();
        let mut readers = Vec::new();
        let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
        for (si, pair) in ids.iter().enumerate() {
            let (id, secret) = pair.split_once(':').expect("ID:SECRET");
            for m in 0..members {
                let cfg = tokio_tungstenite::tungstenite::protocol::WebSocketConfig::default().read_buffer_size(4096);
                let (mut ws, _) =
                    tokio_tungstenite::connect_async_with_config(format!("ws://{addr}/ws"), Some(cfg), true)
                        .await
                        .unwrap();
                let join = json!({"type": "join", "v": bandsync_core::PROTOCOL_VERSION, "session": id, "name": format!("m{m}"), "leader": m == 0, "secret": secret});
                ws.send(Message::Text(join.to_string().into())).await.unwrap();
                loop {
                    if let Some(Ok(Message::Text(t))) = ws.next().await {
                        if t.as_str().starts_with(r#"{"type":"welcome""#) {
                            break;
                        }
                        assert!(!t.as_str().starts_with(r#"{"type":"error""#), "join refused: {t}");
                    }
                }
                let (tx, rx) = ws.split();
                if m == 0 {
                    leaders.push((si, tx));
                } else if ping_ms > 0 {
                    pingers.push(tx);
                }
                readers.push(tokio::spawn(read_member(rx, si, sent.clone(), start, per_session, stop_rx.clone())));
            }
        }
        println!("joined");
        let mut line = String::new();
        std::io::stdin().read_line(&mut line).unwrap();
        // Let join broadcasts settle before measuring.
        tokio::time::sleep(Duration::from_millis(300)).await;
        let t0 = Instant::now();
        for tx in pingers {
            tokio::spawn(ping(tx, ping_ms, None::<std::future::Ready<tokio::time::Instant>>, stop_rx.clone()));
        }
        let mut senders = Vec::new();
        for (si, mut tx) in leaders {
            let (sent, stop_rx) = (sent.clone(), stop_rx.clone());
            senders.push(tokio::spawn(async move {
                let period = Duration::from_secs_f64(1.0 / rate);
                // Spread sessions over the period so the load is even.
                tokio::time::sleep(period.mul_f64((si % 97) as f64 / 97.0)).await;
                let mut tick = tokio::time::interval(period);
                tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Burst);
                for seq in 0..per_session {
                    if ping_ms > 0 {
                        // The leader pings too, until its next change is due.
                        tx = ping(tx, ping_ms, Some(tick.tick()), stop_rx.clone()).await;
                    } else {
                        tick.tick().await;
                    }
                    let milli = 100_000 + seq as u64;
                    let m = format!(r#"{{"type":"tempo","tempo":{milli}}}"#);
                    sent[si][seq].store(start.elapsed().as_nanos() as u64, Ordering::Relaxed);
                    tx.send(Message::Text(m.into())).await.unwrap();
                }
                tx
            }));
        }
        let mut keep = Vec::new();
        for s in senders {
            keep.push(s.await.unwrap());
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
        let elapsed = t0.elapsed().as_secs_f64() - 0.5;
        let mut lat: Vec<u64> = Vec::new();
        let mut pongs = 0u64;
        stop_tx.send(true).unwrap();
        for r in readers {
            if let Ok((v, p)) = r.await {
                lat.extend(v);
                pongs += p;
            }
        }
        drop(keep);
        let expected = ids.len() * members * per_session;
        let lost = expected.saturating_sub(lat.len());
        lat.sort_unstable();
        let q = |p: f64| lat.get(((lat.len() as f64 - 1.0) * p) as usize).copied().unwrap_or(0) as f64 / 1000.0;
        let r = json!({
            "deliveries": lat.len(),
            "deliveries_per_sec": lat.len() as f64 / elapsed,
            "p50_us": q(0.5),
            "p99_us": q(0.99),
            "max_us": q(1.0),
            "lost": lost,
            "pongs": pongs,
            "pongs_per_sec": pongs as f64 / elapsed,
        });
        println!("{r}");
    });
    rt.shutdown_background();
}

type Sink = futures_util::stream::SplitSink<
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>,
    Message,
>;

/// Sends a member's clock-sync pings every `ms` until `until` is ready (then hands the sink
/// back), or until the run stops.
async fn ping(
    mut tx: Sink,
    ms: u64,
    until: Option<impl std::future::Future<Output = tokio::time::Instant>>,
    mut stop: tokio::sync::watch::Receiver<bool>,
) -> Sink {
    let mut every = tokio::time::interval(Duration::from_millis(ms));
    let until = async {
        match until {
            Some(f) => drop(f.await),
            None => std::future::pending().await,
        }
    };
    tokio::pin!(until);
    let mut n = 0u32;
    loop {
        tokio::select! {
            () = &mut until => return tx,
            _ = stop.changed() => return tx,
            _ = every.tick() => {
                n += 1;
                let m = format!(r#"{{"type":"ping","n":{n},"t0":{}}}"#, n * 1000);
                if tx.send(Message::Text(m.into())).await.is_err() {
                    return tx;
                }
            }
        }
    }
}

/// Reads one member's frames and returns the latency of every tempo change it saw, in ns, and
/// the pongs it was sent.
async fn read_member(
    mut rx: futures_util::stream::SplitStream<
        tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>,
    >,
    si: usize,
    sent: Arc<Vec<Vec<AtomicU64>>>,
    start: Instant,
    per_session: usize,
    mut stop: tokio::sync::watch::Receiver<bool>,
) -> (Vec<u64>, u64) {
    let mut out = Vec::with_capacity(per_session);
    let mut pongs = 0;
    loop {
        let frame = tokio::select! {
            f = rx.next() => f,
            _ = stop.changed() => break,
        };
        if let Some(Ok(Message::Text(t))) = frame {
            let now = start.elapsed().as_nanos() as u64;
            let s = t.as_str();
            if s.starts_with(r#"{"type":"pong""#) {
                pongs += 1;
                continue;
            }
            if !s.starts_with(r#"{"type":"transport""#) {
                continue;
            }
            // The newest change is the last segment; its tempo is 100 000 + sequence number.
            let Some(i) = s.rfind(r#""tempo":"#) else { continue };
            let digits: String = s[i + 8..].chars().take_while(char::is_ascii_digit).collect();
            let Ok(milli) = digits.parse::<u64>() else { continue };
            let Some(seq) = milli.checked_sub(100_000).map(|x| x as usize) else { continue };
            if let Some(t0) = sent[si].get(seq).map(|a| a.load(Ordering::Relaxed)).filter(|&t| t > 0) {
                out.push(now.saturating_sub(t0));
            }
        } else if frame.is_none() {
            break;
        }
    }
    (out, pongs)
}
