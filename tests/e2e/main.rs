//! The in-process end-to-end tests: a real server on loopback and members over real sockets.
//!
//! - [`spine`]: joining, leadership, the transport, resume, the HTTP API.
//! - [`bad_input`]: malformed and oversized frames, rate limits, refusals.
//! - [`hostile`]: crafted y-sync, amplification, floods, hoarding, stalled readers, side doors.
//! - [`secrets`]: join secrets, PINs and rotation.
//! - [`docs`]: the shared documents over y-sync.
//! - [`journal`]: chat, the activity stream, versions and the current song, with SQLite.
//! - [`disk`]: a held disk never stops a session: its appends, their news and its reads.
//! - [`plain_doc`]: the plain y-sync endpoint (`/doc/{session}`), for members' and view-only links.
//! - [`older`]: a member of an older protocol version keeps the session, without the documents.
//! - [`moved`]: on a node, a join for a session that left it is placed again, not refused.
//! - [`proxied`]: behind a trusted proxy sending the PROXY protocol, limits count the client it names.
//! - [`ystock`]: a stock Yjs client (npm's y-websocket under node) editing with a Rust member.

mod bad_input;
mod disk;
mod docs;
mod hostile;
mod journal;
mod moved;
mod older;
mod plain_doc;
mod proxied;
mod refused;
mod secrets;
mod spine;
mod ystock;
