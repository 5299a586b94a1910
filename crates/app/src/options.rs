//! [`AppOptions`]: how the app runs (where a hosted session listens, mDNS, the UI assets it
//! serves, the join timeout), and their defaults from the environment. Re-exported by
//! [`crate::app`], which uses them.

use bandsync_server::UiAssets;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

/// The port a host listens on unless it is taken.
pub const DEFAULT_PORT: u16 = 7878;

/// How the app runs.
#[derive(Clone)]
pub struct AppOptions {
    /// Where a hosted session's server listens; when the port is taken, an ephemeral port on
    /// the same address.
    pub bind: SocketAddr,
    /// Advertise hosted sessions and browse for others over mDNS.
    pub mdns: bool,
    /// mDNS only on these interfaces (`lo` for loopback); all when empty.
    pub mdns_interfaces: Vec<String>,
    /// The web UI the embedded server gives phone browsers.
    pub ui: Option<Arc<dyn UiAssets>>,
    /// How long `host_session` and `join_session` wait for the first join before giving up.
    pub join_timeout: Duration,
    /// The file of each output device's latency figure; the user's (`LatencyStore::user`) when
    /// `None`.
    pub latency_store: Option<std::path::PathBuf>,
}

impl std::fmt::Debug for AppOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AppOptions")
            .field("bind", &self.bind)
            .field("mdns", &self.mdns)
            .field("mdns_interfaces", &self.mdns_interfaces)
            .field("ui", &self.ui.is_some())
            .field("join_timeout", &self.join_timeout)
            .field("latency_store", &self.latency_store)
            .finish()
    }
}

impl Default for AppOptions {
    /// All interfaces on port 7878 (or `BANDSYNC_BIND`, e.g. `127.0.0.1:0` for tests), mDNS on
    /// unless `BANDSYNC_NO_MDNS` is set (to anything but `0`), no UI assets.
    fn default() -> Self {
        AppOptions {
            bind: std::env::var("BANDSYNC_BIND")
                .ok()
                .and_then(|b| b.parse().ok())
                .unwrap_or(SocketAddr::new(IpAddr::V4(Ipv4Addr::UNSPECIFIED), DEFAULT_PORT)),
            mdns: !mdns_disabled_by_env(),
            mdns_interfaces: Vec::new(),
            ui: None,
            join_timeout: Duration::from_secs(10),
            latency_store: None,
        }
    }
}

/// Whether `BANDSYNC_NO_MDNS` turns mDNS off.
#[must_use]
pub fn mdns_disabled_by_env() -> bool {
    std::env::var("BANDSYNC_NO_MDNS").is_ok_and(|v| !v.is_empty() && v != "0")
}
