//! The accept loop: a connection limit, one task per connection, graceful shutdown.
//!
//! [`serve`] is mini-redis's `run(listener, shutdown)`: it returns once `shutdown` resolves and
//! every connection and session task has finished. [`RunningServer`] wraps it for embedding (the
//! app, the CLI, tests): bind, read the address, shut down.

use crate::clock::HostClock;
use crate::config::ServerConfig;
use crate::http::{AppState, ConnPermit, router};
use crate::hub::Hub;
use hyper::body::Incoming;
use hyper_util::rt::TokioIo;
use std::future::Future;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use tokio::net::TcpListener;
use tokio::sync::{Semaphore, oneshot};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;
use tower::Service;

/// Serves `listener` until `shutdown` resolves, then closes every connection (WebSockets get a
/// 1001 close frame) and waits for all tasks to finish.
///
/// # Errors
/// Only if the listener's local address cannot be read; accept errors (such as running out of
/// file descriptors) are logged and retried.
pub async fn serve(listener: TcpListener, hub: Arc<Hub>, shutdown: impl Future<Output = ()>) -> std::io::Result<()> {
    serve_tls(listener, hub, None, shutdown).await
}

/// [`serve`], with TLS on every connection when `tls` is given.
///
/// # Errors
/// As [`serve`].
pub async fn serve_tls(
    listener: TcpListener,
    hub: Arc<Hub>,
    tls: Option<Arc<rustls::ServerConfig>>,
    shutdown: impl Future<Output = ()>,
) -> std::io::Result<()> {
    let acceptor = tls.map(tokio_rustls::TlsAcceptor::from);
    let addr = listener.local_addr()?;
    let cancel = CancellationToken::new();
    let app = router(AppState { hub: hub.clone(), cancel: cancel.clone(), gzipped: Arc::default() });
    // Each connection is a file: past the process's limit an accept would fail, not wait.
    let held = crate::descriptors::raise_for(hub.cfg.max_connections);
    if held < hub.cfg.max_connections {
        tracing::warn!(
            asked = hub.cfg.max_connections,
            held,
            "the process may open too few files for its connections (its hard limit, `ulimit -Hn`); \
             it holds fewer: raise the limit (systemd: LimitNOFILE=)"
        );
    }
    let limit = Arc::new(Semaphore::new(held));
    let tracker = hub.tracker.clone();
    tracing::info!(%addr, "serving");
    tokio::pin!(shutdown);
    loop {
        let permit = tokio::select! {
            () = &mut shutdown => break,
            p = limit.clone().acquire_owned() => p.expect("the semaphore is never closed"),
        };
        let (stream, peer) = tokio::select! {
            () = &mut shutdown => break,
            r = listener.accept() => match r {
                Ok(x) => x,
                Err(e) => {
                    tracing::warn!(error = %e, "accept failed");
                    tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                    continue;
                }
            },
        };
        let (app, cancel, acceptor, hub) = (app.clone(), cancel.clone(), acceptor.clone(), hub.clone());
        tracker.spawn(async move {
            let mut stream = stream;
            // Behind a trusted proxy, the client is the one its PROXY header names.
            let mut client = peer.ip();
            if hub.cfg.proxy_protocol_from.contains(&peer.ip()) {
                match crate::proxy_protocol::read_v1(&mut stream, std::time::Duration::from_secs(5)).await {
                    Ok(Some(ip)) => client = ip,
                    Ok(None) => {}
                    Err(e) => {
                        tracing::info!(%peer, "refused: {e}");
                        return;
                    }
                }
            }
            let Some(source) = hub.addresses.admit(client, hub.clock.now()) else {
                tracing::info!(%peer, %client, "refused: this address holds its maximum of connections");
                let body = "too many connections from your address; close some and retry";
                let head = format!(
                    "HTTP/1.1 429 Too Many Requests\r\nconnection: close\r\ncontent-type: text/plain\r\ncontent-length: {}\r\n\r\n",
                    body.len()
                );
                let _ = stream.try_write(format!("{head}{body}").as_bytes());
                return;
            };
            let _ = stream.set_nodelay(true);
            let slot = ConnPermit(Arc::new(Mutex::new(Some((permit, source)))));
            let svc = hyper::service::service_fn(move |mut req: hyper::Request<Incoming>| {
                req.extensions_mut().insert(slot.clone());
                app.clone().call(req)
            });
            match acceptor {
                None => serve_conn(TokioIo::new(stream), svc, cancel, peer).await,
                Some(acc) => {
                    let hs = tokio::time::timeout(std::time::Duration::from_secs(10), acc.accept(stream)).await;
                    match hs {
                        Ok(Ok(tls)) => serve_conn(TokioIo::new(tls), svc, cancel, peer).await,
                        Ok(Err(e)) => tracing::info!(%peer, error = %e, "TLS handshake failed"),
                        Err(_) => tracing::info!(%peer, "TLS handshake timed out"),
                    }
                }
            }
        });
    }
    tracing::info!(%addr, "shutting down");
    cancel.cancel();
    hub.close_all();
    tracker.close();
    tracker.wait().await;
    Ok(())
}

async fn serve_conn<I, S>(io: I, svc: S, cancel: CancellationToken, peer: SocketAddr)
where
    I: hyper::rt::Read + hyper::rt::Write + Unpin + Send + 'static,
    S: hyper::service::Service<hyper::Request<Incoming>, Response = axum::response::Response> + Send + 'static,
    S::Future: Send + 'static,
    S::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    // Without a timer hyper drops its header-read timeout: a socket that connects and says nothing
    // would hold a connection slot for ever.
    let conn = hyper::server::conn::http1::Builder::new()
        .timer(hyper_util::rt::TokioTimer::new())
        .header_read_timeout(std::time::Duration::from_secs(10))
        .serve_connection(io, svc)
        .with_upgrades();
    tokio::pin!(conn);
    let res = tokio::select! {
        r = conn.as_mut() => r,
        () = cancel.cancelled() => {
            conn.as_mut().graceful_shutdown();
            conn.await
        }
    };
    if let Err(e) = res {
        tracing::debug!(%peer, error = %e, "http connection ended with an error");
    }
}

/// A server running in the background, for embedding.
#[derive(Debug)]
pub struct RunningServer {
    /// Where it listens.
    pub addr: SocketAddr,
    /// Its sessions.
    pub hub: Arc<Hub>,
    stop: Option<oneshot::Sender<()>>,
    task: JoinHandle<std::io::Result<()>>,
}

impl RunningServer {
    /// Binds `addr` and serves in a background task.
    ///
    /// # Errors
    /// When the address cannot be bound.
    pub async fn start(addr: SocketAddr, cfg: ServerConfig) -> std::io::Result<Self> {
        Self::start_tls(addr, cfg, None).await
    }

    /// [`RunningServer::start`], serving TLS when `tls` is given.
    ///
    /// # Errors
    /// When the address cannot be bound.
    pub async fn start_tls(
        addr: SocketAddr,
        cfg: ServerConfig,
        tls: Option<Arc<rustls::ServerConfig>>,
    ) -> std::io::Result<Self> {
        let listener = TcpListener::bind(addr).await?;
        Self::serve(listener, Hub::new(cfg, HostClock::new()), tls)
    }

    /// [`RunningServer::start_tls`], with the sessions its store keeps started before it accepts
    /// anyone ([`Hub::restore_sessions`]), and those sessions. A host restarted after a crash is
    /// reconnected to at once by every member: one whose join came before its session was back
    /// was refused as unknown, for good (the page forgets a session it is refused). Connections
    /// made meanwhile wait in the listener's backlog.
    ///
    /// # Errors
    /// When the address cannot be bound, or the store cannot be read.
    pub async fn start_restoring(
        addr: SocketAddr,
        cfg: ServerConfig,
        tls: Option<Arc<rustls::ServerConfig>>,
    ) -> std::io::Result<(Self, Vec<crate::hub::SessionHandle>)> {
        let listener = TcpListener::bind(addr).await?;
        let hub = Hub::new(cfg, HostClock::new());
        let restored = hub.restore_sessions().map_err(std::io::Error::other)?;
        Ok((Self::serve(listener, hub, tls)?, restored))
    }

    /// Serves `hub` on `listener` in a background task.
    fn serve(listener: TcpListener, hub: Arc<Hub>, tls: Option<Arc<rustls::ServerConfig>>) -> std::io::Result<Self> {
        let addr = listener.local_addr()?;
        let (stop, rx) = oneshot::channel::<()>();
        let task = tokio::spawn(serve_tls(listener, hub.clone(), tls, async move {
            let _ = rx.await;
        }));
        Ok(RunningServer { addr, hub, stop: Some(stop), task })
    }

    /// Shuts down and waits until every connection has closed.
    ///
    /// # Errors
    /// If the serve task failed.
    pub async fn shutdown(mut self) -> std::io::Result<()> {
        if let Some(s) = self.stop.take() {
            let _ = s.send(());
        }
        (&mut self.task).await.map_err(std::io::Error::other)?
    }
}
