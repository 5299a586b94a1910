//! Opening the WebSocket: racing the link's addresses, binding a local address, and the TLS
//! trust. What the connection then carries is the driver's, in `client.rs`.

use super::options::ClientOptions;
use std::sync::Arc;

/// An open WebSocket to the host, plain or TLS.
pub(super) type Ws = tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

/// Why opening a connection failed, and whether retrying could help.
pub(super) struct ConnectError {
    pub(super) reason: String,
    pub(super) fatal: bool,
}

/// Opens a WebSocket to the target, racing every address the link names: the one that answers
/// first is kept. The member's own deadline abandons an attempt that takes too long.
pub(super) async fn connect(opts: ClientOptions) -> Result<Ws, ConnectError> {
    let target = &opts.member.target;
    if let (Some(ip), false) = (opts.bind, target.secure()) {
        return connect_from(ip, &target.ws_url).await;
    }
    let connector = target.secure().then(|| tokio_tungstenite::Connector::Rustls(tls_config(&opts.extra_ca)));
    let attempts = std::iter::once(&target.ws_url)
        .chain(&target.alternates)
        .map(|u| Box::pin(tokio_tungstenite::connect_async_tls_with_config(u.as_str(), None, true, connector.clone())));
    match futures_util::future::select_ok(attempts).await {
        Ok(((ws, _), _rest)) => {
            if let tokio_tungstenite::MaybeTlsStream::Plain(s) = ws.get_ref() {
                let _ = s.set_nodelay(true);
            }
            Ok(ws)
        }
        Err(tokio_tungstenite::tungstenite::Error::Tls(e)) => Err(ConnectError {
            reason: format!(
                "TLS with {} failed: {e}. If the host uses a self-signed certificate, pass it with --ca",
                target.ws_url
            ),
            fatal: true,
        }),
        Err(tokio_tungstenite::tungstenite::Error::Io(e)) if e.kind() == std::io::ErrorKind::InvalidData => {
            Err(ConnectError { reason: format!("TLS with {} failed: {e}", target.ws_url), fatal: true })
        }
        Err(e) => Err(ConnectError { reason: format!("cannot connect to {}: {e}", target.ws_url), fatal: false }),
    }
}

/// A plain WebSocket to `url` from local address `ip`.
async fn connect_from(ip: std::net::IpAddr, url: &str) -> Result<Ws, ConnectError> {
    let failed =
        |e: &dyn std::fmt::Display| ConnectError { reason: format!("cannot connect to {url}: {e}"), fatal: false };
    let authority = url.split("://").nth(1).and_then(|r| r.split('/').next()).ok_or_else(|| failed(&"no host"))?;
    let addr = tokio::net::lookup_host(authority)
        .await
        .map_err(|e| failed(&e))?
        .next()
        .ok_or_else(|| failed(&"no address"))?;
    let socket = if ip.is_ipv4() { tokio::net::TcpSocket::new_v4() } else { tokio::net::TcpSocket::new_v6() }
        .map_err(|e| failed(&e))?;
    socket.bind(std::net::SocketAddr::new(ip, 0)).map_err(|e| failed(&e))?;
    let stream = socket.connect(addr).await.map_err(|e| failed(&e))?;
    let _ = stream.set_nodelay(true);
    let (ws, _) =
        tokio_tungstenite::client_async_with_config(url, tokio_tungstenite::MaybeTlsStream::Plain(stream), None)
            .await
            .map_err(|e| failed(&e))?;
    Ok(ws)
}

/// The TLS client configuration: the public web roots, plus any certificate passed with `--ca`
/// (a host's self-signed one). The ring provider, like the server.
fn tls_config(extra: &[rustls_pki_types::CertificateDer<'static>]) -> Arc<rustls::ClientConfig> {
    let mut roots = rustls::RootCertStore::empty();
    roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
    for c in extra {
        let _ = roots.add(c.clone());
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let cfg = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .expect("ring supports the default protocol versions")
        .with_root_certificates(roots)
        .with_no_client_auth();
    Arc::new(cfg)
}
