//! How a member joins and keeps in touch: its [`MemberConfig`], with the usual timings.

use super::backoff::Backoff;
use super::link::JoinTarget;
use crate::clock::ClockConfig;
use crate::protocol::Secret;
use crate::time::Micros;

/// How a member joins and keeps in touch.
#[derive(Debug, Clone)]
pub struct MemberConfig {
    /// Where.
    pub target: JoinTarget,
    /// Display name.
    pub name: String,
    /// What the member plays.
    pub instrument: Option<String>,
    /// Claim leadership on join if it is free.
    pub leader: bool,
    /// A PIN, for joining by a typed address instead of a link.
    pub pin: Option<Secret>,
    /// How often to send a heartbeat.
    pub heartbeat: Micros,
    /// Silence from the server after which the connection counts as dead.
    pub idle_timeout: Micros,
    /// How long opening a connection may take.
    pub connect_timeout: Micros,
    /// Clock-sync tuning.
    pub clock: ClockConfig,
    /// How often the clock status is reported as an event.
    pub report_interval: Micros,
    /// Every this many reports the status also goes to the server; and at once (at the next report)
    /// when it changes what the leader's list shows (`SyncQuality::shown_otherwise`), at most once
    /// in `early_report_gap` reports.
    pub server_report_every: u32,
    /// The fewest reports between two sent early: a figure that wanders across the leader's
    /// 1 ms line (a reported latency, a count-in of missed clicks) is sent at most this often
    /// beyond the interval, and the host broadcasts no more than it is sent.
    pub early_report_gap: u32,
    /// Reconnect policy.
    pub backoff: Backoff,
    /// Also hand every server control message except `pong` and `heartbeat` to the caller, as
    /// [`MemberEvent::Server`](super::MemberEvent::Server), in wire order, before the events it
    /// causes. Errors from the server then come only that way
    /// ([`MemberEvent::Error`](super::MemberEvent::Error) is left for the member's own), so that a
    /// caller that mirrors raw messages sees each once.
    pub forward_server_messages: bool,
    /// The caller reads every message [`Member::handle_text`](super::Member::handle_text) says
    /// is for it, with [`Member::mirror`](super::Member::mirror) and
    /// [`Member::changed`](super::Member::changed) (the page): the member then makes no event
    /// that repeats one, neither the participant list (the whole list on every change is what
    /// costs in a session of hundreds) nor a cue nor a server's error (shown twice, else).
    pub reads_messages: bool,
    /// Seed of the reconnect jitter.
    pub seed: u64,
    /// A resume token kept from an earlier run (a reloaded page), to come back as the same
    /// participant; else a random one the shell made, which the first join proposes: until a
    /// welcome arrives, every join carries it, so a join whose welcome was lost is resumed by
    /// the next instead of leaving a second participant behind.
    pub resume: Option<Secret>,
    /// A one-shot member (a script that joins to do one thing): its join and leave are not
    /// activity.
    pub once: bool,
}

/// How long a member waits for its connection to open, by default (a server that holds a
/// connection while it brings the member's session to itself answers within it).
pub const CONNECT_TIMEOUT: Micros = Micros::from_secs(5);

impl MemberConfig {
    /// A configuration with the usual timings.
    #[must_use]
    pub fn new(target: JoinTarget, name: impl Into<String>) -> Self {
        MemberConfig {
            target,
            name: name.into(),
            instrument: None,
            leader: false,
            pin: None,
            heartbeat: Micros::from_secs(5),
            idle_timeout: Micros::from_secs(15),
            connect_timeout: CONNECT_TIMEOUT,
            clock: ClockConfig::default(),
            report_interval: Micros::from_secs(1),
            server_report_every: 5,
            early_report_gap: 5,
            backoff: Backoff::default(),
            forward_server_messages: false,
            reads_messages: false,
            seed: 1,
            resume: None,
            once: false,
        }
    }
}
