//! The wire protocol: every message a member and the peer server exchange.
//!
//! Control messages are JSON objects in WebSocket text frames, tagged by `"type"`. Binary frames
//! are reserved for document sync (y-sync). `docs/PROTOCOL.md` documents each message: its fields,
//! who may send it, what it causes, and its errors. This module holds only types and their
//! (de)serialisation; what a message *does* lives in [`crate::session`] (and, for a member, in
//! [`crate::member`]).
//!
//! - [`client`]: messages from a member, and the [`Route`] that says which layer handles each.
//! - [`server`]: messages from the server.
//! - [`types`]: the values they carry (snapshot, participants, roles, secrets).
//! - [`concerns`]: a member's sync quality and audio output as it reports them, and what the
//!   leader is warned about.
//! - [`journal`]: chat messages, activity events and document versions.
//! - [`personal`]: a member's own settings, which the host keeps for each member.
//! - [`error`]: the stable error codes.
//! - Here: the version constants, the frame limit, and the codec.

pub mod client;
pub mod concerns;
pub mod error;
pub mod journal;
pub mod personal;
pub mod server;
pub mod types;

pub use client::{ClientMsg, Route};
pub use concerns::{LATENCY_OFFSET_MS, LatencySource, OutputReport, SyncConcern, SyncQuality};
pub use error::{DecodeError, ErrorCode, Refusal};
pub use journal::{ActivityEvent, ActivityKind, ChatMessage, Reaction, VersionInfo};
pub use personal::{ChartShow, Personal, SongLook, member_key};
pub use server::{Rebase, ServerMsg};
pub use types::{
    Access, CUE_MAX_CHARS, Connection, CueBy, LeaveReason, Participant, ParticipantId, Role, RoomStats, Secret,
    Snapshot, cue_text,
};

use crate::timeline::Meter;
use serde::Deserialize;

/// The protocol version this build speaks. 2: tempo in milli-BPM, typed sync reports with the
/// audio output, the leave reason as an enum. 3: a wrong PIN is `wrong_pin`, told apart from a
/// stale link's `bad_secret` (a version-2 member still gets `bad_secret`). 4: a setlist song's
/// tempo is stored in milli-BPM ([`crate::setlist`]), so older members get no document frames
/// ([`DOCS_PROTOCOL_VERSION`]).
pub const PROTOCOL_VERSION: u16 = 4;
/// The oldest protocol version this build still accepts.
pub const MIN_PROTOCOL_VERSION: u16 = 2;
/// The oldest protocol version that reads the session's documents as this build writes them
/// (version 4 stores a setlist tempo in milli-BPM, where older members read BPM). A member that
/// joined with an older version keeps the metronome, chat and everything else, but its document
/// frames are refused (`version_unsupported`, about `doc`) and none are sent to it.
pub const DOCS_PROTOCOL_VERSION: u16 = 4;
/// The close reason (with code 1000) of a connection whose participant was resumed on a newer
/// connection: the member on the old one must not reconnect and take it back.
pub const CLOSE_REPLACED: &str = "replaced by a newer connection";
/// The largest control or document frame a member may send, in bytes. A frame of this size or
/// more is refused with [`ErrorCode::FrameTooLarge`].
pub const MAX_FRAME_BYTES: usize = 64 * 1024;

/// Parses a text frame from a member.
///
/// # Errors
/// [`ErrorCode::FrameTooLarge`] for 64 KiB or more, [`ErrorCode::UnknownType`] for a `type` this
/// build does not know, and [`ErrorCode::Malformed`] for anything else that is not a valid
/// message, including unknown fields.
pub fn decode_client(text: &str) -> Result<ClientMsg, DecodeError> {
    if text.len() >= MAX_FRAME_BYTES {
        return Err(DecodeError {
            code: ErrorCode::FrameTooLarge,
            message: format!("frame of {} bytes; the limit is {} bytes", text.len(), MAX_FRAME_BYTES - 1),
            about: None,
        });
    }
    match serde_json::from_str::<ClientMsg>(text) {
        Ok(msg) => Ok(msg),
        Err(e) => {
            #[derive(Deserialize)]
            struct Probe {
                #[serde(rename = "type")]
                kind: Option<serde_json::Value>,
            }
            let kind = serde_json::from_str::<Probe>(text).ok().and_then(|p| p.kind);
            // serde names an unknown tag "unknown variant `x`": the one list of types is the enum.
            let unknown = e.to_string().starts_with("unknown variant");
            match kind {
                Some(serde_json::Value::String(k)) if unknown => Err(DecodeError {
                    code: ErrorCode::UnknownType,
                    message: format!("unknown message type {k:?}"),
                    about: Some(truncate(&k, 40)),
                }),
                Some(serde_json::Value::String(k)) => Err(DecodeError {
                    code: ErrorCode::Malformed,
                    message: format!("bad {k:?} message: {e}"),
                    about: Some(k),
                }),
                _ => Err(DecodeError {
                    code: ErrorCode::Malformed,
                    message: format!("not a BandSync message: {e}"),
                    about: None,
                }),
            }
        }
    }
}

fn truncate(s: &str, max: usize) -> String {
    s.chars().take(max).collect()
}

/// Serialises a server message to its JSON text.
#[must_use]
pub fn encode_server(msg: &ServerMsg) -> String {
    serde_json::to_string(msg).expect("server messages always serialise")
}

/// Meter fields as a client sends them, turned into a checked [`Meter`].
///
/// # Errors
/// See [`Meter::with_groups`].
pub fn meter_from_wire(beats: u8, unit: u8, groups: Option<Vec<u8>>) -> Result<Meter, crate::timeline::TimelineError> {
    match groups {
        Some(g) => Meter::with_groups(beats, unit, g),
        None => Meter::new(beats, unit),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn join_round_trips() {
        let m = ClientMsg::Join {
            v: 1,
            session: "abc".into(),
            name: "Ana".into(),
            instrument: None,
            resume: None,
            leader: true,
            secret: None,
            pin: None,
            once: false,
        };
        let s = serde_json::to_string(&m).unwrap();
        assert_eq!(s, r#"{"type":"join","v":1,"session":"abc","name":"Ana","leader":true}"#);
        assert_eq!(decode_client(&s).unwrap(), m);
    }

    #[test]
    fn unknown_type_and_malformed_are_told_apart() {
        assert_eq!(decode_client(r#"{"type":"dance"}"#).unwrap_err().code, ErrorCode::UnknownType);
        assert_eq!(decode_client(r#"{"type":"tempo","tempo":"fast"}"#).unwrap_err().code, ErrorCode::Malformed);
        assert_eq!(decode_client("{not json").unwrap_err().code, ErrorCode::Malformed);
        assert_eq!(decode_client(r#"{"bpm":120}"#).unwrap_err().code, ErrorCode::Malformed);
    }

    #[test]
    fn leftover_fields_are_rejected() {
        let e = decode_client(r#"{"type":"tempo","tempo":120000,"extra":1}"#).unwrap_err();
        assert_eq!(e.code, ErrorCode::Malformed);
        assert_eq!(e.about.as_deref(), Some("tempo"));
        let e = decode_client(r#"{"type":"stop","extra":1}"#).unwrap_err();
        assert_eq!(e.code, ErrorCode::Malformed);
    }

    #[test]
    fn oversized_frame_is_refused_before_parsing() {
        let big = format!(r#"{{"type":"heartbeat","pad":"{}"}}"#, "x".repeat(MAX_FRAME_BYTES));
        assert_eq!(decode_client(&big).unwrap_err().code, ErrorCode::FrameTooLarge);
    }

    #[test]
    fn kinds_are_read_from_the_encoding_and_every_message_has_a_route() {
        let samples = [
            (r#"{"type":"leave"}"#, Route::Session),
            (r#"{"type":"claim"}"#, Route::Session),
            (r#"{"type":"stop"}"#, Route::Session),
            (r#"{"type":"heartbeat"}"#, Route::Connection),
            (r#"{"type":"play"}"#, Route::Session),
            (r#"{"type":"tempo","tempo":90000}"#, Route::Session),
            (r#"{"type":"seek","position":0}"#, Route::Session),
            (r#"{"type":"ping","n":1,"t0":5}"#, Route::Connection),
            (r#"{"type":"song","id":"s1"}"#, Route::Documents),
            (r#"{"type":"chat","text":"hi"}"#, Route::Journal),
        ];
        for (s, route) in samples {
            let m = decode_client(s).unwrap();
            assert_eq!(m.route(), route, "{s}");
            let kind = m.kind();
            assert!(s.contains(&format!(r#""type":"{kind}""#)), "{s}: {kind}");
        }
    }

    #[test]
    fn error_codes_serialise_as_their_names() {
        for c in [ErrorCode::NotLeader, ErrorCode::FrameTooLarge, ErrorCode::VersionUnsupported] {
            assert_eq!(serde_json::to_value(c).unwrap(), serde_json::Value::String(c.as_str().into()));
        }
    }
}
