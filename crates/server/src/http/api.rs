//! `bandsync serve`'s organizer API, authorised by `Authorization: Bearer TOKEN` (tokens from
//! `bandsync admin token create`):
//!
//! - `POST /api/sessions` `{"name": ...}`: a new session within the organizer's quota; answers
//!   `201` with its `id`, the members' `join_link`, the `leader_link` (whoever joins with it
//!   leads) and the `view_link` (whoever joins with it can only view);
//! - `GET /api/sessions`: the organizer's own sessions;
//! - `DELETE /api/sessions/{id}`: ends one of them (its members are told) and deletes what is
//!   stored of it.
//!
//! Errors are JSON like every route's: `401 unauthorized`, `403 quota`, `400 invalid_name`,
//! `404 unknown_session` (also for another organizer's session), `503 full`.

use super::AppState;
use crate::hub::HubError;
use crate::organizers::Organizer;
use axum::Json;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::json;

fn error(status: StatusCode, code: &str, message: impl Into<String>) -> Response {
    (status, Json(json!({"error": {"code": code, "message": message.into()}}))).into_response()
}

fn not_here() -> Response {
    error(StatusCode::NOT_FOUND, "unsupported", "this server has no organizer API (it is `bandsync serve`'s)")
}

/// The organizer the request's bearer token names.
fn organizer(st: &AppState, headers: &HeaderMap) -> Result<Organizer, Box<Response>> {
    let unauthorized = |m: &str| Box::new(error(StatusCode::UNAUTHORIZED, "unauthorized", m));
    let token = headers
        .get(axum::http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .ok_or_else(|| unauthorized("send an organizer token: Authorization: Bearer TOKEN"))?;
    let store = st.hub.cfg.store.as_ref().ok_or_else(|| Box::new(not_here()))?;
    match store.organizer(token.trim()) {
        Ok(Some(o)) => Ok(o),
        Ok(None) => Err(unauthorized("this organizer token is not valid (or was revoked)")),
        Err(e) => Err(Box::new(error(StatusCode::INTERNAL_SERVER_ERROR, "internal", e.to_string()))),
    }
}

/// The members' and the leader's links: on `--public-url`, or else on the address the request
/// came to (a proxy's `X-Forwarded-Proto` says whether that was https).
fn links(st: &AppState, headers: &HeaderMap, id: &str, secrets: [Option<&str>; 3]) -> serde_json::Value {
    let header = |h: &str| headers.get(h).and_then(|v| v.to_str().ok());
    let base = match &st.hub.cfg.public_url {
        Some(u) => u.trim_end_matches('/').to_owned(),
        None => {
            format!("{}://{}", header("x-forwarded-proto").unwrap_or("http"), header("host").unwrap_or("localhost"))
        }
    };
    let link = |k: Option<&str>| k.map(|k| format!("{base}/s/{id}#k={k}"));
    json!({"join_link": link(secrets[0]), "leader_link": link(secrets[1]), "view_link": link(secrets[2])})
}

/// Runs a request's work with the store off the async workers: a database slow to answer holds a
/// blocking thread, not the workers every member's connection runs on.
async fn off_workers(f: impl FnOnce() -> Response + Send + 'static) -> Response {
    tokio::task::spawn_blocking(f)
        .await
        .unwrap_or_else(|e| error(StatusCode::INTERNAL_SERVER_ERROR, "internal", format!("the request failed: {e}")))
}

/// `GET /api/sessions` on `bandsync serve`: the organizer's own sessions.
pub(crate) async fn list(st: AppState, headers: HeaderMap) -> Response {
    off_workers(move || list_now(&st, &headers)).await
}

fn list_now(st: &AppState, headers: &HeaderMap) -> Response {
    let org = match organizer(st, headers) {
        Ok(o) => o,
        Err(r) => return *r,
    };
    let Some(store) = st.hub.cfg.store.as_ref() else { return not_here() };
    let mine = match store.sessions_of(&org.name) {
        Ok(m) => m,
        Err(e) => return error(StatusCode::INTERNAL_SERVER_ERROR, "internal", e.to_string()),
    };
    // The store has every session (in a cluster, other nodes' too); live counts come from the
    // hub where this server runs it.
    let sessions: Vec<_> = match store.sessions() {
        Ok(all) => all.iter().filter(|s| mine.contains(&s.id)).map(|s| st.hub.stored_info(s)).collect(),
        Err(e) => return error(StatusCode::INTERNAL_SERVER_ERROR, "internal", e.to_string()),
    };
    Json(json!({"sessions": sessions, "quota": org.quota})).into_response()
}

#[derive(serde::Deserialize)]
pub(crate) struct Create {
    name: String,
}

/// `POST /api/sessions`.
pub(crate) async fn create(State(st): State<AppState>, headers: HeaderMap, body: Option<Json<Create>>) -> Response {
    off_workers(move || create_now(&st, &headers, body)).await
}

fn create_now(st: &AppState, headers: &HeaderMap, body: Option<Json<Create>>) -> Response {
    if !st.hub.cfg.organizer_api {
        return not_here();
    }
    let org = match organizer(st, headers) {
        Ok(o) => o,
        Err(r) => return *r,
    };
    let Some(Json(c)) = body else {
        return error(StatusCode::BAD_REQUEST, "malformed", "send a JSON body: {\"name\": \"…\"}");
    };
    match st.hub.create_owned(&c.name, &org) {
        Ok(h) => {
            let info = h.info();
            let secrets = [
                Some(h.first_secret().expose()),
                h.leader_secret().map(|s| s.expose()),
                Some(h.viewer_secret().expose()),
            ];
            let mut v = links(st, headers, &info.id, secrets);
            v["id"] = json!(info.id);
            v["name"] = json!(info.name);
            (StatusCode::CREATED, Json(v)).into_response()
        }
        Err(HubError::Quota(q)) => {
            error(StatusCode::FORBIDDEN, "quota", format!("your quota is {q} sessions; delete one first"))
        }
        Err(HubError::BadName) => error(StatusCode::BAD_REQUEST, "invalid_name", HubError::BadName.to_string()),
        Err(e @ HubError::Full(_)) => error(StatusCode::SERVICE_UNAVAILABLE, "full", e.to_string()),
        Err(e) => error(StatusCode::INTERNAL_SERVER_ERROR, "internal", e.to_string()),
    }
}

/// `DELETE /api/sessions/{id}`.
pub(crate) async fn delete(State(st): State<AppState>, headers: HeaderMap, Path(id): Path<String>) -> Response {
    off_workers(move || delete_now(&st, &headers, &id)).await
}

fn delete_now(st: &AppState, headers: &HeaderMap, id: &str) -> Response {
    if !st.hub.cfg.organizer_api {
        return not_here();
    }
    let org = match organizer(st, headers) {
        Ok(o) => o,
        Err(r) => return *r,
    };
    let unknown = || error(StatusCode::NOT_FOUND, "unknown_session", format!("you have no session {id:?}"));
    let owner = st.hub.cfg.store.as_ref().map(|s| s.owner(id));
    match owner {
        Some(Ok(Some(o))) if o == org.name => {}
        Some(Err(e)) => return error(StatusCode::INTERNAL_SERVER_ERROR, "internal", e.to_string()),
        _ => return unknown(),
    }
    match st.hub.remove_session(id) {
        Ok(true) => StatusCode::NO_CONTENT.into_response(),
        Ok(false) => unknown(),
        Err(e) => error(StatusCode::INTERNAL_SERVER_ERROR, "internal", e.to_string()),
    }
}
