//! TCP relays between members and a server: one a test can cut, one that impairs the link
//! (delay, jitter, retransmission stalls). The kernel here has no netem, so impairment is done in
//! process.

use std::net::SocketAddr;
use std::time::Duration;
use tokio::net::TcpStream;

/// A TCP relay between members and a server, which a test can cut to simulate a dropped link.
pub struct Relay {
    /// Where members connect.
    pub addr: SocketAddr,
    cut: tokio::sync::watch::Sender<u64>,
}

impl Relay {
    /// Relays `127.0.0.1:0` to `target`.
    ///
    /// # Panics
    /// If it cannot bind.
    pub async fn start(target: SocketAddr) -> Relay {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let (cut, rx) = tokio::sync::watch::channel(0u64);
        tokio::spawn(async move {
            while let Ok((mut inbound, _)) = listener.accept().await {
                let mut rx = rx.clone();
                rx.mark_unchanged();
                tokio::spawn(async move {
                    let Ok(mut outbound) = TcpStream::connect(target).await else { return };
                    tokio::select! {
                        _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound) => {}
                        _ = rx.changed() => {}
                    }
                });
            }
        });
        Relay { addr, cut }
    }

    /// Drops every connection through the relay, without a close handshake.
    pub fn cut(&self) {
        self.cut.send_modify(|n| *n += 1);
    }
}

/// Impairment of an [`ImpairedRelay`]: every chunk is delayed by `base` plus a uniform random
/// part of up to `2 * jitter`, in order (TCP does not reorder); with probability `loss` a chunk
/// is held an extra 200 ms, as a TCP retransmission after a lost segment would.
#[derive(Debug, Clone, Copy)]
pub struct Impair {
    /// Least one-way delay.
    pub base: Duration,
    /// Half the width of the uniform jitter.
    pub jitter: Duration,
    /// Chance of a retransmission stall per chunk.
    pub loss: f64,
}

/// A TCP relay that delays, jitters and stalls traffic in both directions.
///
/// Each direction is a pair of threads: one reads and dates each chunk, the other holds it until
/// then with the OS's sleep (to within about 0.1 ms) and writes it on. Not tokio's timer: its
/// 1 ms ticks rounded every delay up to a whole tick, which made the fastest round trips
/// asymmetric by up to a millisecond (their offsets 0.3–0.5 ms off the truth, measured against
/// the followers' real clocks), and the clock test measured the relay's ticks instead of the
/// estimator.
pub struct ImpairedRelay {
    /// Where members connect.
    pub addr: SocketAddr,
}

impl ImpairedRelay {
    /// Relays `127.0.0.1:0` to `target` with `imp` applied each way, with a seeded random source.
    ///
    /// # Panics
    /// If it cannot bind.
    pub async fn start(target: SocketAddr, imp: Impair, seed: u64) -> ImpairedRelay {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move {
            let mut n = 0u64;
            while let Ok((inbound, _)) = listener.accept().await {
                let Ok(outbound) = TcpStream::connect(target).await else { continue };
                let (Ok(inbound), Ok(outbound)) = (blocking(inbound), blocking(outbound)) else { continue };
                let (Ok(ir), Ok(or)) = (inbound.try_clone(), outbound.try_clone()) else { continue };
                n += 2;
                pump(ir, outbound, imp, seed.wrapping_mul(31).wrapping_add(n));
                pump(or, inbound, imp, seed.wrapping_mul(31).wrapping_add(n + 1));
            }
        });
        ImpairedRelay { addr }
    }
}

/// A tokio stream as a blocking std one, without Nagle's delay.
fn blocking(s: TcpStream) -> std::io::Result<std::net::TcpStream> {
    let s = s.into_std()?;
    s.set_nonblocking(false)?;
    s.set_nodelay(true)?;
    Ok(s)
}

/// One direction: `from`'s chunks to `to`, each delayed by `imp`, in order; when `from` ends,
/// `to`'s write side is shut once the chunks held are written.
fn pump(mut from: std::net::TcpStream, mut to: std::net::TcpStream, imp: Impair, seed: u64) {
    use std::io::{Read, Write};
    use std::time::Instant;
    let (tx, rx) = std::sync::mpsc::channel::<(Instant, Vec<u8>)>();
    std::thread::spawn(move || {
        while let Ok((at, bytes)) = rx.recv() {
            if let Some(wait) = at.checked_duration_since(Instant::now()) {
                std::thread::sleep(wait);
            }
            if to.write_all(&bytes).is_err() {
                break;
            }
        }
        let _ = to.shutdown(std::net::Shutdown::Write);
    });
    std::thread::spawn(move || {
        let mut rng = bandsync_core::jitter::Jitter::new(seed | 1);
        let mut last = Instant::now();
        let mut buf = vec![0u8; 16 * 1024];
        while let Ok(k) = from.read(&mut buf) {
            if k == 0 {
                break;
            }
            let mut d = imp.base + imp.jitter.mul_f64(2.0 * rng.unit());
            if rng.unit() < imp.loss {
                d += Duration::from_millis(200);
            }
            let at = (Instant::now() + d).max(last);
            last = at;
            if tx.send((at, buf[..k].to_vec())).is_err() {
                break;
            }
        }
        let _ = from.shutdown(std::net::Shutdown::Read);
    });
}
