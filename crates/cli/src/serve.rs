//! `bandsync serve`: a server for many bands' remote sessions. It starts with no session;
//! organizers make them through the API (`bandsync_server::api`) with tokens from `bandsync admin
//! token create`. Sessions nobody has been connected to for `--idle-expiry` seconds end.

use crate::host::{ui_assets, wait_for_signal};
use crate::output::emit;
use bandsync_server::{RunningServer, ServerConfig};
use clap::Args;
use serde_json::json;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

/// `bandsync serve`.
#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Address to listen on.
    #[arg(long, default_value = "0.0.0.0:7878")]
    pub bind: SocketAddr,
    /// Where sessions, documents and organizer tokens are kept.
    #[command(flatten)]
    pub store: crate::store_args::StoreArgs,
    /// The address members reach this server at (behind a proxy: its public https URL), for the
    /// links the API hands out. Without it, the address each request came to.
    #[arg(long, value_name = "URL")]
    pub public_url: Option<String>,
    /// End a session nobody has been connected to for this long (seconds).
    #[arg(long, value_name = "SECONDS", default_value_t = 7200.0)]
    pub idle_expiry: f64,
    /// TLS certificate chain (PEM), for wss:// and https://.
    #[arg(long, value_name = "FILE", requires = "tls_key")]
    pub tls_cert: Option<PathBuf>,
    /// TLS private key (PEM).
    #[arg(long, value_name = "FILE", requires = "tls_cert")]
    pub tls_key: Option<PathBuf>,
    /// Also answer to this host name (repeatable), e.g. the public name behind a proxy.
    #[arg(long = "allow-host", value_name = "NAME")]
    pub allow_host: Vec<String>,
    /// The web UI to serve (a built `ui/dist`).
    #[arg(long, value_name = "DIR")]
    pub ui: Option<PathBuf>,
    /// Run as one node of several that share `--database` behind a proxy that routes by session
    /// id; NAME is unique among them (its address does). Sessions are loaded on demand under a
    /// lease, and move to another node when this one dies or drains.
    #[arg(long, value_name = "NAME", requires = "database")]
    pub node: Option<String>,
    /// How long a node's lease on a session lasts unless renewed (ms): the longest its sessions
    /// wait for another node after it dies.
    #[arg(long, value_name = "MS", default_value_t = 2000, requires = "node")]
    pub lease_ms: u64,
    /// A proxy in front (repeatable) whose connections start with a PROXY protocol header
    /// (HAProxy's `send-proxy`): the limits per source address then count the client it names,
    /// not the proxy. Its connections without the header are refused.
    #[arg(long = "proxy-protocol-from", value_name = "IP")]
    pub proxy_protocol_from: Vec<std::net::IpAddr>,
    /// The clock-sync ping interval (ms) members are asked to keep once synced, 50 to 1000.
    /// Their own is 50 ms, and the pongs are most of a node's frames: 200 carries four times the
    /// members' clock sync per core and still meets the clock's targets (docs/SCALING.md).
    #[arg(long, value_name = "MS", value_parser = asked_ping_ms)]
    pub clock_ping_ms: Option<u32>,
    /// Print JSON lines.
    #[arg(long)]
    pub json: bool,
    #[command(flatten)]
    pub limits: crate::limit_args::LimitArgs,
}

/// `--clock-ping-ms`: within what members keep ([`bandsync_core::clock::ASKED_PING_MS`]).
fn asked_ping_ms(s: &str) -> Result<u32, String> {
    let range = bandsync_core::clock::ASKED_PING_MS;
    let ms: u32 = s.parse().map_err(|e| format!("{e}"))?;
    if range.contains(&ms) { Ok(ms) } else { Err(format!("members keep {} to {} ms", range.start(), range.end())) }
}

/// Runs until Ctrl-C or SIGTERM.
///
/// # Errors
/// A bad TLS key, a data directory that cannot be opened, a port in use.
pub async fn run(a: ServeArgs) -> anyhow::Result<u8> {
    let tls = match (&a.tls_cert, &a.tls_key) {
        (Some(c), Some(k)) => Some(bandsync_server::tls::server_config(c, k)?),
        _ => None,
    };
    anyhow::ensure!(
        a.idle_expiry.is_finite() && a.idle_expiry > 0.0,
        "--idle-expiry must be a positive number of seconds"
    );
    let mut cfg = a.limits.apply(ServerConfig {
        allowed_hosts: a.allow_host.clone(),
        organizer_api: true,
        public_url: a.public_url.clone(),
        proxy_protocol_from: a.proxy_protocol_from.clone(),
        node: a.node.as_ref().map(|name| bandsync_server::nodes::NodeConfig {
            name: name.clone(),
            lease_ttl: Duration::from_millis(a.lease_ms.max(200)),
        }),
        ..ServerConfig::default()
    });
    cfg.session.ping_ms = a.clock_ping_ms;
    let store = a.store.clone();
    cfg.store = Some(std::sync::Arc::new(tokio::task::spawn_blocking(move || store.open()).await??));
    cfg.ui = ui_assets(a.ui.as_deref())?;
    let (server, restored) = RunningServer::start_restoring(a.bind, cfg, tls).await?;
    let expiry = tokio::spawn(server.hub.clone().expire_idle(Duration::from_secs_f64(a.idle_expiry)));
    let leases = tokio::spawn(server.hub.clone().keep_leases());
    let ev = json!({
        "event": "serving",
        "node": a.node,
        "addr": server.addr.to_string(),
        "sessions": restored.len(),
        "version": env!("CARGO_PKG_VERSION"),
        "protocol": bandsync_core::PROTOCOL_VERSION,
    });
    emit(a.json, &ev, || {
        format!(
            "Serving on {} ({} sessions restored). Organizers create sessions with POST /api/sessions.\nPress Ctrl-C to stop.",
            server.addr,
            restored.len()
        )
    });
    wait_for_signal().await;
    // A node hands its sessions over first: their members reconnect to the nodes that take them.
    let hub = server.hub.clone();
    tokio::task::spawn_blocking(move || hub.drain()).await?;
    server.shutdown().await?;
    expiry.abort();
    leases.abort();
    emit(a.json, &json!({"event": "stopped"}), || "Stopped.".into());
    Ok(0)
}
