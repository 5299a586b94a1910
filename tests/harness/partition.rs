//! A TCP link that can be partitioned: it forwards both ways until [`Link::partition`], then holds
//! every byte and every connection, open and unanswered, until [`Link::heal`]: a partition (or a peer that hangs) that
//! drops nothing the kernel can see, no reset and no close, so that the side that sent waits for
//! an answer that never comes. On threads, for the synchronous harness (`cluster.rs`).

use std::io::{Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

/// A link to one address.
pub struct Link {
    /// Where to connect instead of the target.
    pub addr: SocketAddr,
    cut: Arc<AtomicBool>,
}

impl Link {
    /// Forwards `127.0.0.1:0` to `target`.
    ///
    /// # Panics
    /// If it cannot bind.
    #[must_use]
    pub fn start(target: SocketAddr) -> Link {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let cut = Arc::new(AtomicBool::new(false));
        let on = cut.clone();
        std::thread::spawn(move || {
            // Connections made once partitioned: accepted, never forwarded, never closed.
            let mut held = Vec::new();
            for inbound in listener.incoming() {
                let Ok(inbound) = inbound else { return };
                if on.load(Ordering::Acquire) {
                    held.push(inbound);
                    continue;
                }
                let Ok(outbound) = TcpStream::connect(target) else { continue };
                let (Ok(a), Ok(b)) = (inbound.try_clone(), outbound.try_clone()) else { continue };
                for (from, to) in [(inbound, b), (outbound, a)] {
                    let on = on.clone();
                    std::thread::spawn(move || pump(from, to, &on));
                }
            }
        });
        Link { addr, cut }
    }

    /// From now on nothing gets through, and nothing is closed.
    pub fn partition(&self) {
        self.cut.store(true, Ordering::Release);
    }

    /// Connections made from now on get through again. Those made before stay as the partition
    /// left them, open and unanswered, as connections across a partition that healed can be:
    /// the side that waits on one must give it up and open another.
    pub fn heal(&self) {
        self.cut.store(false, Ordering::Release);
    }
}

fn pump(mut from: TcpStream, mut to: TcpStream, cut: &AtomicBool) {
    let mut buf = [0u8; 16 * 1024];
    loop {
        let n = match from.read(&mut buf) {
            Ok(0) | Err(_) => {
                let _ = to.shutdown(Shutdown::Write);
                return;
            }
            Ok(n) => n,
        };
        if cut.load(Ordering::Acquire) {
            // Held: both sockets stay open, and this thread with them, until the test ends.
            loop {
                std::thread::park();
            }
        }
        if to.write_all(&buf[..n]).is_err() {
            return;
        }
    }
}
