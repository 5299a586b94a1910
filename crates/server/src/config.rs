//! Limits and timings of the peer server. The defaults suit a band on a LAN; a public server can
//! tighten them.

use bandsync_core::SessionConfig;
use std::time::Duration;

/// Everything the server can be tuned with.
#[derive(Clone)]
pub struct ServerConfig {
    /// Most simultaneous connections (HTTP and WebSocket); further accepts wait.
    pub max_connections: usize,
    /// Most sessions one server holds.
    pub max_sessions: usize,
    /// Messages a connection may send in a burst.
    pub rate_burst: u32,
    /// Messages per second a connection may send, sustained.
    pub rate_per_sec: u32,
    /// Connections one source address may hold at once (see `crate::addresses`).
    pub address_max_connections: usize,
    /// Messages all of one address's connections may send in a burst.
    pub address_rate_burst: u32,
    /// Messages per second all of one address's connections may send, sustained.
    pub address_rate_per_sec: u32,
    /// A write to a member that does not complete in this long (its TCP window stays full: a
    /// locked phone, a dead link) closes the connection; the member resumes when it reads again.
    pub write_timeout: Duration,
    /// Rate or size violations tolerated before the connection is closed.
    pub max_violations: u32,
    /// How often the server pings an idle connection.
    pub heartbeat_interval: Duration,
    /// A connection that sends nothing (not even a pong) for this long is dead.
    pub idle_timeout: Duration,
    /// How long a new connection has to send its `join`.
    pub join_timeout: Duration,
    /// Messages queued for one connection before it counts as too slow and is closed.
    pub outbox_capacity: usize,
    /// Bytes of a session's document edits on their way to a slow disk (applied in memory, not
    /// yet stored) past which it takes no more until the disk catches up: an editor's edit is
    /// then refused and its connection closed (it resumes, re-syncs and sends it again), so that
    /// a stalled disk and a member sending large edits cannot fill the server's memory.
    pub unwritten_max: usize,
    /// Per-session limits and timings.
    pub session: SessionConfig,
    /// Host names (besides IP literals, `localhost` and `*.local`) that requests may be addressed
    /// to. A remote host behind a domain name lists it here; anything else is refused, which
    /// stops DNS-rebinding pages from reaching the server through a visitor's browser.
    pub allowed_hosts: Vec<String>,
    /// Where sessions and documents are kept across restarts; in memory only when `None`.
    pub store: Option<std::sync::Arc<crate::store::Store>>,
    /// A burst of document edits ends after this long without one, and is then summarised in the
    /// activity stream and saved as a version.
    pub edit_idle: Duration,
    /// The web UI served to phone browsers at `/` and `/s/{id}`; a minimal join page without it.
    pub ui: Option<std::sync::Arc<dyn crate::assets::UiAssets>>,
    /// `bandsync serve`: the organizer API is on (`crate::api`), and listings are per organizer.
    pub organizer_api: bool,
    /// The address members reach this server at, for the links the organizer API hands out
    /// (`https://band.example.org`).
    pub public_url: Option<String>,
    /// This server is one node of several sharing the store ([`crate::nodes`]).
    pub node: Option<NodeConfig>,
    /// Proxies whose connections start with a PROXY protocol header naming the client
    /// ([`crate::proxy_protocol`]); the limits per source address then count the client.
    pub proxy_protocol_from: Vec<std::net::IpAddr>,
}

impl Default for ServerConfig {
    fn default() -> Self {
        ServerConfig {
            max_connections: 4096,
            max_sessions: 2048,
            rate_burst: 200,
            rate_per_sec: 100,
            address_max_connections: 64,
            address_rate_burst: 800,
            address_rate_per_sec: 400,
            write_timeout: Duration::from_secs(5),
            max_violations: 20,
            heartbeat_interval: Duration::from_secs(5),
            idle_timeout: Duration::from_secs(15),
            join_timeout: Duration::from_secs(10),
            outbox_capacity: 4096,
            unwritten_max: 4 * bandsync_docs::MAX_DOC_BYTES,
            session: SessionConfig::default(),
            allowed_hosts: Vec::new(),
            store: None,
            ui: None,
            organizer_api: false,
            public_url: None,
            node: None,
            proxy_protocol_from: Vec::new(),
            edit_idle: Duration::from_secs(10),
        }
    }
}

impl std::fmt::Debug for ServerConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ServerConfig")
            .field("max_connections", &self.max_connections)
            .field("max_sessions", &self.max_sessions)
            .field("allowed_hosts", &self.allowed_hosts)
            .field("store", &self.store.is_some())
            .field("ui", &self.ui.is_some())
            .finish_non_exhaustive()
    }
}

/// This node, among several sharing one database ([`crate::nodes`]).
#[derive(Debug, Clone)]
pub struct NodeConfig {
    /// Its name in the leases (unique among the nodes; its address does).
    pub name: String,
    /// How long a lease lasts unless renewed: the longest a dead node's sessions wait.
    pub lease_ttl: Duration,
}
