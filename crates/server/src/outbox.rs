//! What a session sends a connection: the frames in a connection's outbox, serialised once and
//! shared by every member they go to.

use axum::extract::ws::Utf8Bytes;
use tokio::sync::mpsc;

/// What a connection's outbox carries.
#[derive(Debug, Clone)]
pub enum Outgoing {
    /// A serialised server message; cloning shares the bytes.
    Text(Utf8Bytes),
    /// A y-sync message for the documents.
    Binary(axum::body::Bytes),
    /// Close the connection with this reason.
    Close(&'static str),
}

/// The sending side of a connection's outbox.
pub type Outbox = mpsc::Sender<Outgoing>;
