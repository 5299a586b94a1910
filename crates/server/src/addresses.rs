//! Limits per source address. A connection's own rate limit starts afresh when it reconnects, and
//! one client could hold thousands of idle sockets (4,000 once made `/healthz` wait 8 s). So each
//! source address also has a cap on the connections it holds at once, and one token bucket that
//! all its connections draw from, remembered after they close until it has refilled.
//!
//! Behind a reverse proxy every member shares the proxy's address; such a server raises these
//! limits (see `docs/SECURITY.md`).

use bandsync_core::Micros;
use bandsync_core::ratelimit::TokenBucket;
use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex};

/// Addresses remembered before idle ones are forgotten.
const PRUNE_ABOVE: usize = 4096;

/// The limits per source address, shared by the accept loop and every connection. The map is
/// locked only to admit a connection; a message locks only its own address's entry.
#[derive(Debug)]
pub struct Addresses {
    map: Mutex<HashMap<IpAddr, Arc<Mutex<Entry>>>>,
    max_connections: usize,
    burst: u32,
    per_sec: u32,
}

#[derive(Debug)]
struct Entry {
    connections: usize,
    bucket: TokenBucket,
    last_used: Micros,
}

impl Addresses {
    /// At most `max_connections` at once per address, and `per_sec` messages a second (bursts of
    /// `burst`) across them.
    #[must_use]
    pub fn new(max_connections: usize, burst: u32, per_sec: u32) -> Arc<Self> {
        Arc::new(Addresses { map: Mutex::new(HashMap::new()), max_connections, burst, per_sec })
    }

    /// A slot for one more connection from `ip`, or `None` when it holds its maximum.
    #[must_use]
    pub fn admit(self: &Arc<Self>, ip: IpAddr, now: Micros) -> Option<AddressSlot> {
        let mut map = self.map.lock().expect("address map poisoned");
        if map.len() >= PRUNE_ABOVE {
            // Forget addresses with no connection whose bucket has refilled.
            let refill = Micros(i64::from(self.burst) * 1_000_000 / i64::from(self.per_sec.max(1)));
            map.retain(|_, e| Arc::strong_count(e) > 1 || now - lock(e).last_used < refill);
        }
        let entry = map
            .entry(ip)
            .or_insert_with(|| {
                let bucket = TokenBucket::new(self.burst, self.per_sec, now);
                Arc::new(Mutex::new(Entry { connections: 0, bucket, last_used: now }))
            })
            .clone();
        drop(map);
        {
            let mut e = lock(&entry);
            if e.connections >= self.max_connections {
                return None;
            }
            e.connections += 1;
            e.last_used = now;
        }
        Some(AddressSlot { entry, ip })
    }

    /// Connections `ip` holds now.
    #[must_use]
    pub fn connections(&self, ip: IpAddr) -> usize {
        self.map.lock().expect("address map poisoned").get(&ip).map_or(0, |e| lock(e).connections)
    }
}

fn lock(e: &Mutex<Entry>) -> std::sync::MutexGuard<'_, Entry> {
    e.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// One connection's place in its address's limits; gives the place back when dropped.
#[derive(Debug)]
pub struct AddressSlot {
    entry: Arc<Mutex<Entry>>,
    ip: IpAddr,
}

impl AddressSlot {
    /// The source address.
    #[must_use]
    pub fn ip(&self) -> IpAddr {
        self.ip
    }

    /// Takes a token from the address's bucket, if it has one.
    pub fn try_take(&self, now: Micros) -> bool {
        let mut e = lock(&self.entry);
        e.last_used = now;
        e.bucket.try_take(now)
    }
}

impl Drop for AddressSlot {
    fn drop(&mut self) {
        let mut e = lock(&self.entry);
        e.connections = e.connections.saturating_sub(1);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_address_holds_at_most_its_connections_and_gets_them_back() {
        let a = Addresses::new(2, 10, 10);
        let ip: IpAddr = "192.0.2.7".parse().unwrap();
        let s1 = a.admit(ip, Micros(0)).unwrap();
        let _s2 = a.admit(ip, Micros(0)).unwrap();
        assert!(a.admit(ip, Micros(0)).is_none());
        assert!(a.admit("192.0.2.8".parse().unwrap(), Micros(0)).is_some());
        drop(s1);
        assert_eq!(a.connections(ip), 1);
        assert!(a.admit(ip, Micros(0)).is_some());
    }

    #[test]
    fn reconnecting_does_not_refill_the_bucket() {
        let a = Addresses::new(4, 5, 1);
        let ip: IpAddr = "192.0.2.7".parse().unwrap();
        let mut taken = 0;
        for _ in 0..10 {
            let s = a.admit(ip, Micros(0)).unwrap();
            while s.try_take(Micros(0)) {
                taken += 1;
            }
        }
        assert_eq!(taken, 5, "ten connections in a row share one burst");
        let s = a.admit(ip, Micros(2_000_000)).unwrap();
        assert!(s.try_take(Micros(2_000_000)) && s.try_take(Micros(2_000_000)) && !s.try_take(Micros(2_000_000)));
    }
}
