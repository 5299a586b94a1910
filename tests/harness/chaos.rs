//! Chaos for the soak run (`tests/soak.rs`): a relay per member that jitters and stalls its link,
//! connects from the member's own loopback address, and can make the member sleep (stop reading)
//! or drop.

use bandsync_sim::rng::Rng;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpSocket};

/// One member's relay: jitter and stalls both ways, and two controls.
pub struct MemberRelay {
    /// Where the member connects.
    pub addr: SocketAddr,
    /// Until when (ms since `t0`) neither side is read: the phone sleeps.
    asleep_until: Arc<AtomicU64>,
    /// Bumped to cut every open connection.
    generation: Arc<AtomicU64>,
}

impl MemberRelay {
    /// Relays `127.0.0.1:0` to `host`, connecting from `src`.
    ///
    /// # Panics
    /// If it cannot bind.
    pub async fn start(host: SocketAddr, src: IpAddr, seed: u64, t0: Instant) -> MemberRelay {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let asleep_until = Arc::new(AtomicU64::new(0));
        let generation = Arc::new(AtomicU64::new(0));
        let (sleep, gen_) = (asleep_until.clone(), generation.clone());
        tokio::spawn(async move {
            let mut n = 0;
            while let Ok((inbound, _)) = listener.accept().await {
                let sock = TcpSocket::new_v4().unwrap();
                sock.bind(SocketAddr::new(src, 0)).unwrap();
                let Ok(outbound) = sock.connect(host).await else { continue };
                n += 2;
                let g = gen_.load(Ordering::SeqCst);
                let (ir, iw) = inbound.into_split();
                let (or, ow) = outbound.into_split();
                let ctl = (sleep.clone(), gen_.clone(), g, t0);
                tokio::spawn(pump(ir, ow, seed.wrapping_add(n), ctl.clone()));
                tokio::spawn(pump(or, iw, seed.wrapping_add(n + 1), ctl));
            }
        });
        MemberRelay { addr, asleep_until, generation }
    }

    /// Stops reading both ways for `d`: the phone sleeps.
    pub fn sleep_for(&self, d: Duration, t0: Instant) {
        let until = (t0.elapsed() + d).as_millis() as u64;
        self.asleep_until.store(until, Ordering::SeqCst);
    }

    /// Cuts every open connection: the phone drops off the network.
    pub fn cut(&self) {
        self.generation.fetch_add(1, Ordering::SeqCst);
    }
}

type SleepCtl = (Arc<AtomicU64>, Arc<AtomicU64>, u64, Instant);

async fn pump(
    mut from: tokio::net::tcp::OwnedReadHalf,
    mut to: tokio::net::tcp::OwnedWriteHalf,
    seed: u64,
    (asleep_until, generation, mine, t0): SleepCtl,
) {
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<(tokio::time::Instant, Vec<u8>)>();
    let gen2 = generation.clone();
    let writer = tokio::spawn(async move {
        while let Some((at, bytes)) = rx.recv().await {
            tokio::time::sleep_until(at).await;
            if gen2.load(Ordering::SeqCst) != mine || to.write_all(&bytes).await.is_err() {
                break;
            }
        }
    });
    let mut rng = Rng::new(seed);
    let mut buf = vec![0u8; 16 * 1024];
    let mut last = tokio::time::Instant::now();
    loop {
        // Asleep: nothing is read, so the sender's window fills.
        while asleep_until.load(Ordering::SeqCst) > t0.elapsed().as_millis() as u64 {
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        if generation.load(Ordering::SeqCst) != mine {
            break;
        }
        let n = tokio::select! {
            r = from.read(&mut buf) => match r { Ok(0) | Err(_) => break, Ok(n) => n },
            () = tokio::time::sleep(Duration::from_millis(100)) => continue,
        };
        // 1–9 ms of delay, in order; 1 % of chunks held 200 ms more.
        let mut delay = Duration::from_micros(1000 + rng.below(8000));
        if rng.chance(0.01) {
            delay += Duration::from_millis(200);
        }
        last = last.max(tokio::time::Instant::now() + delay);
        if tx.send((last, buf[..n].to_vec())).is_err() {
            break;
        }
    }
    drop(tx);
    let _ = writer.await;
}
