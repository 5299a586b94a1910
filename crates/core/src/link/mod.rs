//! The Ableton Link bridge's decisions: the leader's device joins a Link session (Ableton Live,
//! and every other Link app on the network) both ways.
//!
//! One rule, whichever side moves: **Link shows BandSync's timeline.** Link's tempo is the
//! session's, and Link's beat phase puts a Link bar (a quantum of one BandSync bar) on every
//! BandSync bar line. So:
//! - **BandSync leads:** a tempo, meter, play, stop or seek of the session's goes to Link on the
//!   bar line where it lands, re-anchoring Link's timeline there, beat-continuous;
//! - **Live leads:** a change a Link peer makes (tempo, start/stop) is taken, on the leader's
//!   device, as a request to the session (the message the leader's own button sends, so the host
//!   checks its authority as for any other). Link is put back on the session's timeline at once,
//!   and shows the change when the session lands it, on its next bar line: every Link peer and
//!   every band member change together, and Link's phase never jumps.
//!
//! Between changes the bridge keeps Link's phase within [`LinkConfig::phase_tolerance`] of the
//! session's (the clocks the two run on drift apart by a few ppm).
//!
//! Sans-IO: the shell (`bandsync join --link`, behind the `link` feature: the Link library is
//! GPL) reads Link's session state into a [`LinkView`] at a host time, and carries out the
//! [`LinkAction`]s.

#[cfg(test)]
mod tests;

use crate::protocol::ClientMsg;
use crate::time::{Beats, Micros};
use crate::timeline::{MAX_BPM, MIN_BPM, Segment, Tempo, Transport};

/// What Link's session state says at one moment, as the shell captured it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LinkView {
    /// The host time the reading is for.
    pub at: Micros,
    /// The Link session's tempo, BPM.
    pub tempo: f64,
    /// Link's beat at `at`, for the quantum [`LinkBridge::quantum`] gave.
    pub beat: f64,
    /// Link's start/stop state.
    pub playing: bool,
    /// Other Link apps in the session.
    pub peers: u64,
}

/// What the shell does for the bridge.
#[derive(Debug, Clone, PartialEq)]
pub enum LinkAction {
    /// Put Link on the session's timeline: from host time `at`, tempo `tempo`, beat `beat` at
    /// `at` (for `quantum`), playing or not.
    Commit {
        /// Where the timeline is anchored (a bar line the session's change landed on, or now).
        at: Micros,
        /// BPM.
        tempo: f64,
        /// The beat at `at`: beats since the session's bar origin, so Link's bars are its bars.
        /// `None` while the session is stopped: its phase says nothing then, and Link's (Live
        /// playing on its own) is left as it is, the tempo changing beat-continuously at `at`.
        beat: Option<f64>,
        /// Beats per bar.
        quantum: f64,
        /// Whether the session plays; `None` leaves Link's start/stop as it is (a Link session
        /// joined while playing or stopped keeps that until the session itself starts or stops).
        playing: Option<bool>,
    },
    /// A Link peer's change, asked of the session (only as its leader).
    Request(ClientMsg),
}

/// The bridge's tuning.
#[derive(Debug, Clone, Copy)]
pub struct LinkConfig {
    /// The phase disagreement that re-anchors Link's timeline.
    pub phase_tolerance: Micros,
    /// How long a request waits for the session to land it before it may be asked again.
    pub ask_timeout: Micros,
}

impl Default for LinkConfig {
    fn default() -> Self {
        LinkConfig { phase_tolerance: Micros(250), ask_timeout: Micros::from_secs(2) }
    }
}

/// A segment that took effect this recently is anchored at its start rather than now.
const LANDED_LATE: Micros = Micros(200_000);

/// Tempos closer than this are the same (the session's resolution is 0.001 BPM).
const TEMPO_EPS: f64 = 0.0005;

/// Whether two tempos are the same to the session or to Link. Link carries a tempo between apps
/// as whole microseconds per beat: above about 550 BPM one step of that is more than the
/// session's 0.001 BPM (a peer's 777 BPM arrives as 777.000777), and a tempo read back so is the
/// one told, not a peer's change.
fn same_tempo(a: f64, b: f64) -> bool {
    (a - b).abs() <= TEMPO_EPS || (60e6 / a).round() == (60e6 / b).round()
}

/// Link's tempo as the session's. Link's range is the session's, 20 to 999 BPM (its test plan's
/// TEMPO-4); a tempo rounded through whole microseconds could land a hair outside either end, and
/// is clamped into it.
fn session_tempo(bpm: f64) -> Option<Tempo> {
    Tempo::from_bpm(bpm.clamp(MIN_BPM, MAX_BPM)).ok()
}

/// The bridge between a Link session and the BandSync session, on one device.
#[derive(Debug, Clone, Default)]
pub struct LinkBridge {
    cfg: LinkConfig,
    /// What Link was last told (or found at the start): tempo and start/stop. Link saying
    /// otherwise means a peer moved it.
    told: Option<(f64, bool)>,
    /// The segment Link was last anchored on: one landing since is committed at its bar line.
    anchored: Option<Segment>,
    /// A peer's tempo or start/stop asked of the session, and when.
    asked_tempo: Option<(Tempo, Micros)>,
    asked_playing: Option<(bool, Micros)>,
    /// Joining a Link session that was there first: the tempo asked of the session for it, and
    /// until when the session may take to schedule it; Link is left at it until it lands.
    adopting: Option<(Tempo, Micros)>,
    /// After joining a Link session that was there first, Link's start/stop is left as it was
    /// until either side starts or stops: Link's and the session's start/stop at the join.
    start_stop: Option<(bool, bool)>,
    /// Link peers at the last reading.
    peers: u64,
}

impl LinkBridge {
    /// A bridge with `cfg`.
    #[must_use]
    pub fn new(cfg: LinkConfig) -> Self {
        LinkBridge { cfg, ..LinkBridge::default() }
    }

    /// The quantum to read Link's beat for at host time `at`: one bar of the session's meter.
    #[must_use]
    pub fn quantum(transport: &Transport, at: Micros) -> f64 {
        beats_f(transport.segment_at(at).meter.bar_len())
    }

    /// The session's beat at host time `at` on Link's scale: beats since the segment's bar
    /// origin, so that a bar line is a whole number of quanta.
    #[must_use]
    pub fn session_beat(transport: &Transport, at: Micros) -> f64 {
        link_beat(transport.segment_at(at), at)
    }

    /// Where the leader's play should start: on Link's bar grid while there are other Link apps
    /// (a host time a Link bar starts on, for [`ClientMsg::Play`]'s `on_bar`), as a Link app's
    /// quantized start does (Live, with Link on, starts on the next bar too). The band comes in
    /// on Ableton Live's bar, and Live's phase does not jump when Link takes the session's
    /// timeline. Whether Live plays is not asked: a device that joins a Link session reads it as
    /// stopped until someone starts or stops (measured against aalink), and the apps share the
    /// grid either way. `None` with no other Link app.
    #[must_use]
    pub fn on_bar(view: &LinkView, quantum: f64) -> Option<Micros> {
        (view.peers > 0 && view.tempo > 0.0).then(|| {
            let since_bar = view.beat.rem_euclid(quantum) * 60e6 / view.tempo;
            Micros(view.at.0 - since_bar.round() as i64)
        })
    }

    /// One reading of Link against the session's `transport`; `leading` says whether this member
    /// leads the session (only then does a peer's change become a request).
    pub fn handle(&mut self, view: LinkView, transport: &Transport, leading: bool) -> Vec<LinkAction> {
        let (latest, seg) = (transport.latest(), transport.segment_at(view.at));
        self.forget_answered(latest, view.at);
        self.meet_peers(&view, seg, leading);
        let mut out = if leading { self.peer_requests(&view, latest, seg) } else { Vec::new() };
        if !self.still_adopting(&view, latest, seg) {
            out.extend(self.follow_session(&view, seg));
        }
        out
    }

    /// Requests the session has landed (or that timed out) are done with.
    fn forget_answered(&mut self, latest: &Segment, now: Micros) {
        let timeout = self.cfg.ask_timeout;
        self.asked_tempo = self.asked_tempo.filter(|&(t, at)| latest.timeline.tempo != t && now - at < timeout);
        self.asked_playing = self.asked_playing.filter(|&(p, at)| latest.playing != p && now - at < timeout);
    }

    /// Meeting peers (at the start, or when Link finds them later and the sessions merge) is
    /// joining their session: its tempo is asked of the session and kept meanwhile, and its
    /// start/stop is left alone until either side starts or stops (Link's TEMPO-2: opening
    /// BandSync changes neither). Link's start/stop follows the session's again once either
    /// starts or stops.
    fn meet_peers(&mut self, view: &LinkView, seg: &Segment, leading: bool) {
        if view.peers > 0 && (self.told.is_none() || self.peers == 0) {
            self.told = Some((seg.timeline.tempo.bpm(), view.playing));
            self.start_stop = Some((view.playing, seg.playing));
            if leading
                && !same_tempo(view.tempo, seg.timeline.tempo.bpm())
                && let Some(t) = session_tempo(view.tempo)
            {
                self.adopting = Some((t, view.at + self.cfg.ask_timeout));
            }
        }
        self.peers = view.peers;
        if self.start_stop.is_some_and(|(l, s)| l != view.playing || s != seg.playing) {
            self.start_stop = None;
        }
    }

    /// A peer's change, asked of the session by its leader: Link says other than it was told.
    fn peer_requests(&mut self, view: &LinkView, latest: &Segment, seg: &Segment) -> Vec<LinkAction> {
        let mut out = Vec::new();
        let now = view.at;
        let (told_tempo, told_playing) = self.told.unwrap_or((view.tempo, view.playing));
        if !same_tempo(view.tempo, told_tempo)
            && let Some(t) = session_tempo(view.tempo)
            // Asked unless the session has it and nothing else is pending (a knob turned out and
            // back before the first turn landed asks for its way back too).
            && (latest.timeline.tempo != t || self.asked_tempo.is_some())
            && self.asked_tempo.is_none_or(|(a, _)| a != t)
        {
            out.push(LinkAction::Request(ClientMsg::Tempo { tempo: t }));
            self.asked_tempo = Some((t, now));
        }
        if view.playing != told_playing
            && latest.playing != view.playing
            && self.asked_playing.is_none_or(|(a, _)| a != view.playing)
        {
            // The band comes in on Live's bar, not a lead time from now.
            let on_bar = Self::on_bar(view, beats_f(seg.meter.bar_len()));
            let m = if view.playing { ClientMsg::Play { count_in: 0, on_bar } } else { ClientMsg::Stop {} };
            out.push(LinkAction::Request(m));
            self.asked_playing = Some((view.playing, now));
        }
        out
    }

    /// Joining: Link keeps its tempo until the session's, asked for it, lands (or, if the
    /// session never schedules it, the request times out). Whether it still does.
    fn still_adopting(&mut self, view: &LinkView, latest: &Segment, seg: &Segment) -> bool {
        let Some((t, until)) = self.adopting else { return false };
        if seg.timeline.tempo != t && (view.at < until || latest.timeline.tempo == t) {
            self.told = Some((view.tempo, view.playing));
            return true;
        }
        self.adopting = None;
        false
    }

    /// Link onto the session's timeline, when it is off it: anchored on the bar line a change
    /// landed on, else now.
    fn follow_session(&mut self, view: &LinkView, seg: &Segment) -> Option<LinkAction> {
        let now = view.at;
        let tempo = seg.timeline.tempo.bpm();
        let landed = self.anchored.as_ref() != Some(seg);
        let quantum = beats_f(seg.meter.bar_len());
        // A change that landed since the last reading is anchored on its bar line (the reading
        // comes a moment after it); anything else from now.
        let at = if landed && seg.at <= now && now - seg.at <= LANDED_LATE { seg.at } else { now };
        let drift = if seg.playing {
            let d = (view.beat - link_beat(seg, now)).rem_euclid(quantum);
            let d = if d > quantum / 2.0 { d - quantum } else { d };
            d.abs() * 60e6 / tempo
        } else {
            0.0
        };
        let playing = self.start_stop.is_none().then_some(seg.playing);
        // A stopped session takes a peer's tempo at once: Link keeps it meanwhile instead of being
        // put back (a knob turned while the band waits would fight the bridge), and a landing that
        // Link already shows is not committed again (the commit could cross the knob's next turn
        // on the network and undo it). A playing band changes on its bar line, and Link with it.
        let waiting = !seg.playing && self.asked_tempo.is_some_and(|(t, _)| same_tempo(view.tempo, t.bpm()));
        let off = (!same_tempo(view.tempo, tempo) && !waiting)
            || playing.is_some_and(|p| p != view.playing)
            || drift > self.cfg.phase_tolerance.0 as f64
            || (landed && seg.playing);
        if off {
            self.told = Some((tempo, playing.unwrap_or(view.playing)));
            self.anchored = Some(seg.clone());
            return Some(LinkAction::Commit {
                at,
                tempo,
                beat: seg.playing.then(|| link_beat(seg, at)),
                quantum,
                playing,
            });
        }
        self.told = Some((view.tempo, view.playing));
        if !waiting {
            self.anchored = Some(seg.clone());
        }
        None
    }

    /// When the bridge next needs a reading: the next change the session has scheduled (to
    /// anchor Link on its bar line as it lands).
    #[must_use]
    pub fn poll_timeout(transport: &Transport, now: Micros) -> Option<Micros> {
        transport.next_change(now)
    }
}

/// `seg`'s position at host time `at` on Link's scale: beats since its bar origin.
fn link_beat(seg: &Segment, at: Micros) -> f64 {
    beats_f(seg.position(at) - seg.bar_origin)
}

fn beats_f(b: Beats) -> f64 {
    b.0 as f64 / Beats::ONE as f64
}
