//! BandSync's peer server: many sessions, WebSocket and HTTP on one port.
//!
//! The same code runs embedded in the desktop app and standalone (`bandsync host --headless`).
//!
//! - [`server`]: the accept loop: a connection limit, one task per connection, graceful shutdown
//!   passed in as a future, and a handle for embedding.
//! - [`http`]: the routes: `/ws` (the session protocol), `/api/...` and `/healthz`.
//! - [`connection`]: one WebSocket connection: frame limits, rate limit, heartbeat, clock pongs
//!   (what arrives, and its router, in `connection/inbound.rs`).
//! - [`doc_connection`]: a plain y-sync connection (`/doc/{session}`).
//! - [`descriptors`]: the process's open-file limit, raised to hold the connections.
//! - [`addresses`]: limits per source address (connections held, a shared message rate).
//! - [`hub`]: the registry of sessions (each reached through a `SessionHandle`, `handle.rs`).
//! - [`session_task`]: the driver that runs one [`bandsync_core::Session`] state machine.
//! - [`outbox`]: what a session sends a connection (its frames, serialised once).
//! - `journal`: a session's chat, activity stream and document versions, persisted.
//! - `driver`: what a session task does besides the state machine: the journal, the outboxes,
//!   recovery after a panic; `doc_frames`: y-sync frames, and each edit stored before anyone
//!   hears of it.
//! - `appends`: what a session stores as it goes (document edits, chat, activity, the state it
//!   carries) written off its task, in groups, with the frames that tell of it held until it is
//!   durable.
//! - `stored_doc`: a session's documents read back from the store, and folded into a snapshot.
//! - `stored_secrets`: a rotated secret or a new PIN stored with the appends, its credentials
//!   held until it is durable, and put back if the disk refuses it.
//! - [`store`]: durable storage (SQLite or Postgres): sessions, documents, chat, leases.
//! - [`assets`]: the web UI's files, served to phone browsers.
//! - [`compress`]: those files gzipped, once, for browsers that accept it.
//! - [`clock`]: the host clock every timeline is expressed in.
//! - [`config`]: limits and timings.
//! - [`share`]: the join link as a QR code (SVG, PNG, terminal).
//! - [`tls`]: rustls (ring) configuration for `wss://` and `https://`.
//! - [`tokens`]: fresh random tokens (resume tokens, secrets, organizer tokens).
//! - [`organizers`]: `bandsync serve`'s organizer tokens, quotas and session owners (in the store).
//! - [`api`]: `bandsync serve`'s organizer API: create, list and delete sessions.
//! - [`proxy_protocol`]: the PROXY header a trusted proxy puts before a connection's bytes.
//! - [`nodes`]: `bandsync serve` on several nodes: leases, sessions loaded on demand, hand-over
//!   (its tests in `nodes/tests.rs`).
//! - [`placements`]: where a session is for a member, and a node's attempts to bring sessions
//!   here, shared by the members of one session.

pub mod addresses;
mod appends;
pub mod assets;
pub mod clock;
pub mod compress;
pub mod config;
pub mod connection;
pub mod descriptors;
pub mod doc_connection;
mod doc_frames;
mod driver;
mod handle;
pub mod http;
pub mod hub;
mod journal;
pub mod nodes;
pub mod organizers;
pub mod outbox;
pub mod placements;
pub mod proxy_protocol;
pub mod server;
pub mod session_task;
pub mod share;
pub mod store;
mod stored_doc;
mod stored_secrets;
pub mod tls;
pub mod tokens;

pub use assets::{DirAssets, UiAssets};
pub use clock::HostClock;
pub use config::ServerConfig;
pub use http::api;
pub use hub::{Hub, SessionInfo};
pub use server::{RunningServer, serve};
