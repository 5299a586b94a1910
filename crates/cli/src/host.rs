//! `bandsync host`: a peer server with one session, printing its join link.

use crate::output::emit;
use bandsync_server::{RunningServer, ServerConfig};
use clap::Args;
use serde_json::json;
use std::net::SocketAddr;

/// Options of `bandsync host`.
#[derive(Debug, Args)]
pub struct HostArgs {
    /// Address and port to listen on.
    #[arg(long, default_value = "0.0.0.0:7878")]
    pub bind: SocketAddr,
    /// The session's name, shown to members.
    #[arg(long, default_value = "Rehearsal")]
    pub name: String,
    /// Do not advertise the session on the LAN over mDNS (also: BANDSYNC_NO_MDNS=1).
    #[arg(long)]
    pub no_mdns: bool,
    /// Advertise only on this interface (repeatable; `lo` for loopback). Default: all.
    #[arg(long = "mdns-iface", value_name = "NAME")]
    pub mdns_iface: Vec<String>,
    /// Run without any window; the CLI is always headless, so this is accepted for scripts.
    #[arg(long)]
    pub headless: bool,
    /// Print one JSON object per line.
    #[arg(long)]
    pub json: bool,
    /// Serve wss:// and https:// with this PEM certificate chain (for remote sessions).
    #[arg(long, value_name = "FILE", requires = "tls_key")]
    pub tls_cert: Option<std::path::PathBuf>,
    /// The private key (PEM) of --tls-cert.
    #[arg(long, value_name = "FILE", requires = "tls_cert")]
    pub tls_key: Option<std::path::PathBuf>,
    /// A host name this server is reached by (repeatable), for a remote host behind a domain name.
    /// IP addresses, `localhost` and `*.local` names always work; other names are refused.
    #[arg(long = "allow-host", value_name = "NAME")]
    pub allow_host: Vec<String>,
    /// Keep sessions, secrets, setlists and charts in this directory, and reopen them on start.
    #[arg(long, value_name = "DIR")]
    pub data_dir: Option<std::path::PathBuf>,
    /// Serve the web UI from this directory (a `vite build` output) to phone browsers. Defaults to
    /// `$BANDSYNC_UI_DIR`, else this source tree's `ui/dist` when it has been built; without a UI
    /// the join link opens a minimal join page.
    #[arg(long, value_name = "DIR")]
    pub ui: Option<std::path::PathBuf>,
    /// Also write the join link's QR code to this PNG file.
    #[arg(long, value_name = "FILE")]
    pub qr_png: Option<std::path::PathBuf>,
    /// Also write the join link's QR code to this SVG file.
    #[arg(long, value_name = "FILE")]
    pub qr_svg: Option<std::path::PathBuf>,
    #[command(flatten)]
    pub limits: crate::limit_args::LimitArgs,
}

/// Runs until Ctrl-C or SIGTERM.
///
/// # Errors
/// When the address cannot be bound or the session cannot be created.
pub async fn run(a: HostArgs) -> anyhow::Result<u8> {
    let tls = match (&a.tls_cert, &a.tls_key) {
        (Some(c), Some(k)) => Some(bandsync_server::tls::server_config(c, k)?),
        (None, None) => None,
        _ => anyhow::bail!("--tls-cert and --tls-key go together"),
    };
    let scheme = if tls.is_some() { "https" } else { "http" };
    let mut cfg = a.limits.apply(ServerConfig { allowed_hosts: a.allow_host.clone(), ..ServerConfig::default() });
    if let Some(dir) = &a.data_dir {
        cfg.store = Some(std::sync::Arc::new(bandsync_server::store::Store::open(dir)?));
    }
    cfg.ui = ui_assets(a.ui.as_deref())?;
    // With a data directory, the sessions kept there come back (same id, secret and documents),
    // before anyone is let in.
    let (server, restored) = RunningServer::start_restoring(a.bind, cfg, tls).await?;
    let session = match restored.into_iter().next() {
        Some(s) => s,
        None => server.hub.create_session(&a.name)?,
    };
    let info = session.info();
    let ips = bandsync_app::lan::advertised_ips(server.addr.ip());
    let url_ip = ips[0];
    let alternates: Vec<String> =
        ips[1..].iter().map(|ip| SocketAddr::new(*ip, server.addr.port()).to_string()).collect();
    // The secret rides in the fragment: browsers never send it to the server, so no HTTP log
    // can hold it; the page hands it to the WebSocket join.
    let url = format!(
        "{scheme}://{}/s/{}#k={}{}",
        SocketAddr::new(url_ip, server.addr.port()),
        info.id,
        session.first_secret().expose(),
        if alternates.is_empty() { String::new() } else { format!("&a={}", alternates.join(",")) }
    );
    // The view-only link: the same address, the viewer's secret (and no alternates needed twice).
    let view_url = format!(
        "{scheme}://{}/s/{}#k={}",
        SocketAddr::new(url_ip, server.addr.port()),
        info.id,
        session.viewer_secret().expose()
    );
    let ev = json!({
        "event": "hosting",
        "session": info.id,
        "name": info.name,
        "url": url,
        "view_url": view_url,
        "addr": server.addr.to_string(),
        "version": env!("CARGO_PKG_VERSION"),
        "protocol": bandsync_core::PROTOCOL_VERSION,
        "mdns": !no_mdns(&a),
    });
    if let Some(path) = &a.qr_png {
        std::fs::write(path, bandsync_server::share::png(&url, 8)?)?;
    }
    if let Some(path) = &a.qr_svg {
        std::fs::write(path, bandsync_server::share::svg(&url)?)?;
    }
    let qr = bandsync_server::share::terminal(&url)?;
    emit(a.json, &ev, || {
        format!(
            "Hosting \"{}\" (session {}) on {}\n{qr}\nScan the code, or open the join link: {url}\nPress Ctrl-C to stop.",
            info.name, info.id, server.addr
        )
    });
    let ad = if no_mdns(&a) {
        None
    } else {
        let opts = bandsync_discovery::AdvertiseOptions {
            name: info.name.clone(),
            session: info.id.clone(),
            port: server.addr.port(),
            protocol: bandsync_core::PROTOCOL_VERSION,
            secret_required: true,
            fingerprint: format!("{:016x}", server.hub.clock().epoch()),
            interfaces: a.mdns_iface.clone(),
        };
        match bandsync_discovery::advertise(opts) {
            Ok(ad) => Some(ad),
            Err(e) => {
                emit(a.json, &json!({"event": "error", "code": "mdns", "message": e.to_string()}), || {
                    format!("Not advertised on the LAN: {e}")
                });
                None
            }
        }
    };
    // Wait for Ctrl-C or SIGTERM, keeping the advertised member count current meanwhile.
    let signal = wait_for_signal();
    tokio::pin!(signal);
    let mut tick = tokio::time::interval(std::time::Duration::from_secs(2));
    let mut advertised = 0;
    loop {
        tokio::select! {
            () = &mut signal => break,
            _ = tick.tick() => {
                let n = session.info().members;
                if let Some(ad) = ad.as_ref().filter(|_| n != advertised) {
                    advertised = n;
                    let _ = ad.set_members(n);
                }
            }
        }
    }
    if let Some(ad) = ad {
        ad.stop();
    }
    server.shutdown().await?;
    emit(a.json, &json!({"event": "stopped"}), || "Stopped.".into());
    Ok(0)
}

/// Whether mDNS is off, by flag or by `BANDSYNC_NO_MDNS`.
fn no_mdns(a: &HostArgs) -> bool {
    a.no_mdns || std::env::var("BANDSYNC_NO_MDNS").is_ok_and(|v| !v.is_empty() && v != "0")
}

pub(crate) async fn wait_for_signal() {
    #[cfg(unix)]
    {
        let mut term =
            tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()).expect("SIGTERM handler");
        tokio::select! {
            _ = tokio::signal::ctrl_c() => {}
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}

/// The UI to serve: `--ui DIR` must exist; the defaults are used only when built.
pub(crate) fn ui_assets(
    explicit: Option<&std::path::Path>,
) -> anyhow::Result<Option<std::sync::Arc<dyn bandsync_server::UiAssets>>> {
    use bandsync_server::DirAssets;
    if let Some(dir) = explicit {
        return Ok(Some(std::sync::Arc::new(DirAssets::new(dir)?)));
    }
    let env = std::env::var_os("BANDSYNC_UI_DIR").map(std::path::PathBuf::from);
    let built = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../ui/dist");
    for dir in env.into_iter().chain([built]) {
        if let Ok(a) = DirAssets::new(&dir) {
            tracing::info!(dir = %dir.display(), "serving the web UI");
            return Ok(Some(std::sync::Arc::new(a)));
        }
    }
    tracing::warn!("no built web UI (npm --prefix ui run build); phones get the minimal join page");
    Ok(None)
}
