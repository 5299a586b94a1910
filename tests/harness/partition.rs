//! A TCP link that can be partitioned: it forwards both ways until [`PartitionLink::partition`], then holds
//! every byte and every connection, open and unanswered, until [`PartitionLink::heal`]: a partition (or a
//! peer that hangs) that drops nothing the kernel can see, no reset and no close, so that the side
//! that sent waits for an answer that never comes. On threads, for the synchronous harness
//! (`cluster.rs`); dropped, it closes every connection it holds and its threads end.

use std::io::{Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

/// What the link's threads share.
#[derive(Default)]
struct Partitioned {
    cut: AtomicBool,
    closed: AtomicBool,
    /// Every connection it made or holds, to close when it is dropped.
    streams: Mutex<Vec<TcpStream>>,
    /// The forwarding threads that hold their bytes while partitioned.
    parked: Mutex<Vec<std::thread::Thread>>,
}

impl Partitioned {
    fn keep(&self, s: &TcpStream) {
        if let Ok(s) = s.try_clone() {
            self.streams.lock().unwrap().push(s);
        }
    }
}

/// A link to one address.
pub struct PartitionLink {
    /// Where to connect instead of the target.
    pub addr: SocketAddr,
    shared: Arc<Partitioned>,
}

impl PartitionLink {
    /// Forwards `127.0.0.1:0` to `target`.
    ///
    /// # Panics
    /// If it cannot bind.
    #[must_use]
    pub fn start(target: SocketAddr) -> PartitionLink {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let shared = Arc::new(Partitioned::default());
        let on = shared.clone();
        std::thread::spawn(move || {
            for inbound in listener.incoming() {
                let Ok(inbound) = inbound else { return };
                if on.closed.load(Ordering::Acquire) {
                    return;
                }
                on.keep(&inbound);
                // Made once partitioned: accepted, never forwarded, never closed (until dropped).
                if on.cut.load(Ordering::Acquire) {
                    continue;
                }
                let Ok(outbound) = TcpStream::connect(target) else { continue };
                on.keep(&outbound);
                let (Ok(a), Ok(b)) = (inbound.try_clone(), outbound.try_clone()) else { continue };
                for (from, to) in [(inbound, b), (outbound, a)] {
                    let on = on.clone();
                    std::thread::spawn(move || pump(from, to, &on));
                }
            }
        });
        PartitionLink { addr, shared }
    }

    /// From now on nothing gets through, and nothing is closed.
    pub fn partition(&self) {
        self.shared.cut.store(true, Ordering::Release);
    }

    /// How many directions of its connections hold bytes sent since the partition: each is a
    /// statement (or an answer) that went out and is waited on.
    #[must_use]
    pub fn holding(&self) -> usize {
        self.shared.parked.lock().unwrap().len()
    }

    /// Connections made from now on get through again. Those made before stay as the partition
    /// left them, open and unanswered, as connections across a partition that healed can be:
    /// the side that waits on one must give it up and open another.
    pub fn heal(&self) {
        self.shared.cut.store(false, Ordering::Release);
    }
}

impl Drop for PartitionLink {
    fn drop(&mut self) {
        self.shared.closed.store(true, Ordering::Release);
        for s in self.shared.streams.lock().unwrap().drain(..) {
            let _ = s.shutdown(Shutdown::Both);
        }
        for t in self.shared.parked.lock().unwrap().drain(..) {
            t.unpark();
        }
        // Wakes the accepting thread, which then sees the link closed.
        let _ = TcpStream::connect(self.addr);
    }
}

fn pump(mut from: TcpStream, mut to: TcpStream, link: &Partitioned) {
    let mut buf = [0u8; 16 * 1024];
    loop {
        let n = match from.read(&mut buf) {
            Ok(0) | Err(_) => {
                let _ = to.shutdown(Shutdown::Write);
                return;
            }
            Ok(n) => n,
        };
        if link.cut.load(Ordering::Acquire) {
            // Held: both sockets stay open, and this thread with them, until the link is dropped.
            link.parked.lock().unwrap().push(std::thread::current());
            while !link.closed.load(Ordering::Acquire) {
                std::thread::park();
            }
            return;
        }
        if to.write_all(&buf[..n]).is_err() {
            return;
        }
    }
}
