//! The HTTP routes on the server's one port.
//!
//! - `GET /ws`: upgrades to the session protocol (see `docs/PROTOCOL.md`).
//! - `GET /doc/{id}?k=SECRET`: upgrades to plain y-sync for the session's documents (y-websocket).
//! - `GET /api/sessions`: every session, `GET /api/sessions/{id}`: one session's name and member
//!   counts, `GET /api/sessions/{id}/participants`: who is there.
//! - On `bandsync serve`: `POST /api/sessions`, `DELETE /api/sessions/{id}`, and `GET
//!   /api/sessions` listing the organizer's own ([`api`]).
//! - `GET /healthz`: liveness, version and session count.
//! - `GET /s/{id}`: where a join link points; a page that names the session.
//!
//! Errors are JSON: `{"error": {"code": ..., "message": ...}}` with the protocol's codes.

pub mod api;

use crate::connection;
use crate::hub::Hub;
use axum::extract::ws::WebSocketUpgrade;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;
use axum::{Extension, Json, Router};
use bandsync_core::protocol::{ErrorCode, PROTOCOL_VERSION};
use serde_json::json;
use std::sync::{Arc, Mutex};
use tokio::sync::OwnedSemaphorePermit;
use tokio_util::sync::CancellationToken;

/// The largest frame the transport accepts at all. Frames between the protocol limit (64 KiB) and
/// this get a `frame_too_large` error and the connection lives on; larger ones close it (1009).
pub const TRANSPORT_MAX_FRAME: usize = 1 << 20;

/// What every route can reach.
#[derive(Clone)]
pub struct AppState {
    /// The sessions.
    pub hub: Arc<Hub>,
    /// Fires when the server shuts down.
    pub cancel: CancellationToken,
    /// The UI's files, gzipped once each for the browsers that take it.
    pub gzipped: Arc<crate::compress::Gzipped>,
}

/// The connection-limit permit of the TCP connection a request came on. A WebSocket upgrade takes
/// it over, so that an upgraded connection keeps counting against the limit.
#[derive(Clone, Default)]
pub struct ConnPermit(pub Arc<Mutex<Option<(OwnedSemaphorePermit, crate::addresses::AddressSlot)>>>);

/// The router.
pub fn router(state: AppState) -> Router {
    Router::new()
        .route("/ws", get(ws))
        .route("/doc/{id}", get(doc_ws))
        .route("/healthz", get(health))
        .route("/api/qr", axum::routing::post(qr))
        .route("/api/sessions", get(list_sessions).post(api::create))
        .route("/api/sessions/{id}", get(session_info).delete(api::delete))
        .route("/api/sessions/{id}/participants", get(participants))
        .route("/s/{id}", get(join_page))
        .route("/", get(ui_index))
        .fallback(get(ui_file))
        .layer(axum::middleware::from_fn_with_state(state.clone(), check_host))
        .with_state(state)
}

/// Refuses requests addressed to a host name this server does not answer to. A page on
/// `evil.example` that rebinds its name to a LAN address still sends `Host: evil.example`.
async fn check_host(State(st): State<AppState>, req: axum::extract::Request, next: axum::middleware::Next) -> Response {
    let host = req.headers().get(axum::http::header::HOST).and_then(|h| h.to_str().ok()).unwrap_or("");
    if host_allowed(host, &st.hub.cfg.allowed_hosts) {
        return next.run(req).await;
    }
    let body =
        json!({"error": {"code": "forbidden_host", "message": format!("this server does not answer to {host:?}")}});
    (StatusCode::FORBIDDEN, Json(body)).into_response()
}

/// Whether `host` (a `Host` header, port included) names this server: an IP literal,
/// `localhost`, a `.local` mDNS name, or a configured name.
fn host_allowed(host: &str, allowed: &[String]) -> bool {
    let name = if let Some(rest) = host.strip_prefix('[') {
        rest.split(']').next().unwrap_or("")
    } else {
        host.rsplit_once(':').map_or(host, |(h, p)| if p.bytes().all(|b| b.is_ascii_digit()) { h } else { host })
    };
    let name = name.trim_end_matches('.').to_ascii_lowercase();
    name.parse::<std::net::IpAddr>().is_ok()
        || name == "localhost"
        || name.ends_with(".local")
        || allowed.iter().any(|a| a.eq_ignore_ascii_case(&name))
}

/// Whether a WebSocket upgrade may proceed: a browser's `Origin` must be this host's own page
/// (or the desktop app's webview), so that no other site can open a session in a visitor's
/// browser. Clients that send no `Origin` (the CLI, the app's Rust side) are not browsers.
fn origin_allowed(headers: &axum::http::HeaderMap) -> bool {
    let Some(origin) = headers.get(axum::http::header::ORIGIN).and_then(|o| o.to_str().ok()) else { return true };
    if matches!(origin, "tauri://localhost" | "http://tauri.localhost" | "https://tauri.localhost") {
        return true;
    }
    let host = headers.get(axum::http::header::HOST).and_then(|h| h.to_str().ok()).unwrap_or("");
    origin
        .strip_prefix("http://")
        .or_else(|| origin.strip_prefix("https://"))
        .is_some_and(|o| o.eq_ignore_ascii_case(host))
}

async fn ws(
    State(st): State<AppState>,
    axum::extract::Query(q): axum::extract::Query<std::collections::HashMap<String, String>>,
    permit: Option<Extension<ConnPermit>>,
    headers: axum::http::HeaderMap,
    up: WebSocketUpgrade,
) -> Response {
    if !origin_allowed(&headers) {
        let body = json!({"error": {"code": "forbidden_origin", "message": "WebSocket connections from other sites are refused"}});
        return (StatusCode::FORBIDDEN, Json(body)).into_response();
    }
    // On a node of a cluster, the session the address names is brought here first.
    if let Some(id) = q.get("session") {
        if let Some(r) = elsewhere(&st, id).await {
            return r;
        }
    }
    upgrade(&st, permit, up, connection::handle)
}

/// A 503 (retry) while another node still holds the session, on a node of a cluster.
async fn elsewhere(st: &AppState, id: &str) -> Option<Response> {
    let asked = std::time::Instant::now();
    let placed = st.hub.place(id).await;
    tracing::debug!(
        target: "bandsync_server::joins",
        session = id,
        ?placed,
        placed_ms = asked.elapsed().as_secs_f64() * 1e3,
        "placed"
    );
    (placed == crate::nodes::Placement::Elsewhere).then(|| {
        let body =
            json!({"error": {"code": "moving", "message": format!("session {id} is moving between nodes; retry")}});
        (StatusCode::SERVICE_UNAVAILABLE, [("retry-after", "1")], Json(body)).into_response()
    })
}

/// Upgrades with the transport's frame limits; the connection keeps the TCP connection's permit
/// and the shutdown tracker's token until `serve` returns.
fn upgrade<F, Fut>(st: &AppState, permit: Option<Extension<ConnPermit>>, up: WebSocketUpgrade, serve: F) -> Response
where
    F: FnOnce(axum::extract::ws::WebSocket, Arc<Hub>, CancellationToken, Option<crate::addresses::AddressSlot>) -> Fut
        + Send
        + 'static,
    Fut: std::future::Future<Output = ()> + Send + 'static,
{
    let permit = permit.and_then(|Extension(p)| p.0.lock().ok()?.take());
    let (hub, cancel) = (st.hub.clone(), st.cancel.clone());
    let guard = hub.tracker.token();
    // Control frames are small: read in 4 KiB chunks instead of tungstenite's 128 KiB, which would
    // cost every idle member that much memory.
    let up = up.max_message_size(TRANSPORT_MAX_FRAME).max_frame_size(TRANSPORT_MAX_FRAME).read_buffer_size(4096);
    up.on_upgrade(move |socket| async move {
        let (_permit, source) = permit.unzip();
        let _guard = guard;
        serve(socket, hub, cancel, source).await;
    })
}

/// `GET /doc/{session}?k=SECRET`: a plain y-sync WebSocket for the session's documents, as
/// y-websocket's `WebsocketProvider(url + "/doc", session, doc, { params: { k } })` opens it.
async fn doc_ws(
    State(st): State<AppState>,
    Path(id): Path<String>,
    axum::extract::Query(q): axum::extract::Query<std::collections::HashMap<String, String>>,
    permit: Option<Extension<ConnPermit>>,
    headers: axum::http::HeaderMap,
    up: Result<WebSocketUpgrade, axum::extract::ws::rejection::WebSocketUpgradeRejection>,
) -> Response {
    if !origin_allowed(&headers) {
        let body = json!({"error": {"code": "forbidden_origin", "message": "WebSocket connections from other sites are refused"}});
        return (StatusCode::FORBIDDEN, Json(body)).into_response();
    }
    if let Some(r) = elsewhere(&st, &id).await {
        return r;
    }
    let Some(handle) = st.hub.get(&id) else { return unknown_session(&id) };
    let Some(secret) = q.get("k").cloned() else {
        let body =
            json!({"error": {"code": ErrorCode::AuthRequired, "message": "add the session secret as ?k=SECRET"}});
        return (StatusCode::UNAUTHORIZED, Json(body)).into_response();
    };
    let up = match up {
        Ok(up) => up,
        Err(rejection) => return rejection.into_response(),
    };
    upgrade(&st, permit, up, move |socket, hub, cancel, source| {
        crate::doc_connection::handle_doc(socket, hub, handle, secret, cancel, source)
    })
}

/// `POST /api/qr` with `{"link": "…"}`: the link as a QR code (SVG), drawn by the same code as
/// the host's (`share.rs`), so that a page never draws one of its own. A POST keeps the link,
/// and its secret, out of URLs and their logs.
async fn qr(body: axum::body::Bytes) -> Response {
    #[derive(serde::Deserialize)]
    struct Q {
        link: String,
    }
    let bad = |m: String| {
        (StatusCode::BAD_REQUEST, Json(json!({"error": {"code": "malformed", "message": m}}))).into_response()
    };
    let q: Q = match serde_json::from_slice(&body) {
        Ok(q) if body.len() <= 2048 => q,
        Ok(_) => return bad("a link is at most 2 KB".into()),
        Err(e) => return bad(format!("send {{\"link\": \"…\"}}: {e}")),
    };
    match crate::share::svg(&q.link) {
        Ok(svg) => ([(axum::http::header::CONTENT_TYPE, "image/svg+xml")], svg).into_response(),
        Err(e) => bad(e.to_string()),
    }
}

/// 503 on a node cut off from the database ([`crate::Hub::cut_off`]), or draining: the proxy's
/// check then takes it out, and members go to the nodes that can serve them. (A draining node
/// that answered 200 kept its sessions' members coming back to it until it had stopped, and
/// the proxy's check had noticed: it does not send them elsewhere itself.)
async fn health(State(st): State<AppState>) -> Response {
    let (code, status) = if st.hub.cut_off() {
        (axum::http::StatusCode::SERVICE_UNAVAILABLE, "cut_off")
    } else if st.hub.draining() {
        (axum::http::StatusCode::SERVICE_UNAVAILABLE, "draining")
    } else {
        (axum::http::StatusCode::OK, "ok")
    };
    let body = json!({
        "status": status,
        "version": env!("CARGO_PKG_VERSION"),
        "protocol": PROTOCOL_VERSION,
        "sessions": st.hub.list().len(),
    });
    (code, Json(body)).into_response()
}

/// Every session on a host; on `bandsync serve`, the organizer's own (`api`).
async fn list_sessions(State(st): State<AppState>, headers: axum::http::HeaderMap) -> Response {
    if st.hub.cfg.organizer_api {
        return api::list(st, headers).await;
    }
    Json(json!({ "sessions": st.hub.list() })).into_response()
}

fn unknown_session(id: &str) -> Response {
    let body = json!({"error": {"code": ErrorCode::UnknownSession, "message": format!("there is no session {id:?}")}});
    (StatusCode::NOT_FOUND, Json(body)).into_response()
}

async fn session_info(State(st): State<AppState>, Path(id): Path<String>) -> Response {
    match st.hub.get(&id) {
        Some(h) => Json(h.info()).into_response(),
        None => unknown_session(&id),
    }
}

async fn participants(State(st): State<AppState>, Path(id): Path<String>) -> Response {
    let Some(h) = st.hub.get(&id) else { return unknown_session(&id) };
    match h.snapshot().await {
        Some(s) => Json(json!({ "participants": s.participants, "leader": s.leader })).into_response(),
        None => unknown_session(&id),
    }
}

async fn join_page(State(st): State<AppState>, Path(id): Path<String>) -> Response {
    let Some(h) = st.hub.get(&id) else {
        return (StatusCode::NOT_FOUND, Html("<h1>No such BandSync session</h1>".to_owned())).into_response();
    };
    if let Some(index) = ui_index_page(&st) {
        return index;
    }
    let info = h.info();
    // The secret is not in this request (it rides in the URL fragment); the page reads it.
    let page = JOIN_PAGE.replace("{{NAME}}", &html_escape(&info.name)).replace("{{SESSION}}", &html_escape(&info.id));
    ([(axum::http::header::CACHE_CONTROL, "no-store")], Html(page)).into_response()
}

/// The UI's `index.html`, never cached: it names the current build's hashed asset files.
fn ui_index_page(st: &AppState) -> Option<Response> {
    let (bytes, mime) = st.hub.cfg.ui.as_ref()?.get("index.html")?;
    let headers = [(axum::http::header::CONTENT_TYPE, mime), (axum::http::header::CACHE_CONTROL, "no-store")];
    Some((headers, bytes.into_owned()).into_response())
}

async fn ui_index(State(st): State<AppState>) -> Response {
    ui_index_page(&st).unwrap_or_else(|| {
        (StatusCode::NOT_FOUND, Html("<h1>BandSync</h1><p>Open the join link the band leader shares.</p>".to_owned()))
            .into_response()
    })
}

/// Any other path: a UI file (Vite's hashed assets are cached for good), or 404.
/// Text, scripts and the wasm go gzipped to browsers that accept it (`compress.rs`).
async fn ui_file(State(st): State<AppState>, uri: axum::http::Uri, req: axum::http::HeaderMap) -> Response {
    use axum::http::header;
    let path = uri.path();
    match st.hub.cfg.ui.as_ref().and_then(|ui| ui.get(path)) {
        Some((bytes, mime)) => {
            let cache = if path.starts_with("/assets/") { "public, max-age=31536000, immutable" } else { "no-cache" };
            let headers = [(header::CONTENT_TYPE, mime), (header::CACHE_CONTROL, cache)];
            if !crate::compress::compressible(mime) {
                return (headers, bytes.into_owned()).into_response();
            }
            let vary = [(header::VARY, "accept-encoding")];
            if crate::compress::accepts_gzip(&req) {
                let z = st.gzipped.get(path, &bytes);
                (headers, vary, [(header::CONTENT_ENCODING, "gzip")], axum::body::Bytes::from_owner(z)).into_response()
            } else {
                (headers, vary, bytes.into_owned()).into_response()
            }
        }
        None => {
            let body = json!({"error": {"code": "not_found", "message": format!("nothing at {path}")}});
            (StatusCode::NOT_FOUND, Json(body)).into_response()
        }
    }
}

/// The minimal phone join page (the full UI replaces it with issue #7).
const JOIN_PAGE: &str = include_str!("../assets/join.html");

fn html_escape(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;").replace('\'', "&#39;")
}

#[cfg(test)]
mod tests {
    use super::host_allowed;

    #[test]
    fn only_addresses_and_known_names_are_answered() {
        for ok in ["127.0.0.1:7878", "192.168.1.5", "[fd00::1]:7878", "localhost:80", "bandsync-abc.local:7878"] {
            assert!(host_allowed(ok, &[]), "{ok}");
        }
        for bad in ["evil.example", "evil.example:7878", "", "127.0.0.1.evil.example"] {
            assert!(!host_allowed(bad, &[]), "{bad}");
        }
        assert!(host_allowed("band.example.org:443", &["band.example.org".to_owned()]));
    }
}
