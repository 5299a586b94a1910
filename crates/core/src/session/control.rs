//! What members do once they are in: leadership, document access, tempo, meter, start, stop,
//! seek, songs, and their sync reports. Every transport change goes through one path
//! ([`Session::change`]) that lands it on a bar line far enough ahead for every device.

use super::names::{clean_color, clean_instrument, clean_name};
use super::{ConnId, Output, Refusal, Session, SongChoice};
use crate::patch::SongCue;
use crate::protocol::{
    Access, ActivityKind, ClientMsg, ErrorCode, LeaveReason, OutputReport, ParticipantId, ServerMsg, SyncQuality,
    meter_from_wire,
};
use crate::time::{Beats, Micros};
use crate::timeline::Tempo;

impl Session {
    /// A message from a joined connection (anything but `join`).
    pub fn handle_input(&mut self, now: Micros, conn: ConnId, msg: ClientMsg) {
        self.transport.prune(now);
        let kind = msg.kind();
        let Some(me) = self.participant_of(conn) else {
            self.out.push_back(Output::Send(
                conn,
                ServerMsg::error(ErrorCode::NotJoined, "send a join first", Some(&kind)),
            ));
            return;
        };
        if let Err((code, message)) = self.apply(now, conn, me, msg) {
            self.out.push_back(Output::Send(conn, ServerMsg::error(code, message, Some(&kind))));
        }
    }

    pub(super) fn apply(
        &mut self,
        now: Micros,
        conn: ConnId,
        me: ParticipantId,
        msg: ClientMsg,
    ) -> Result<(), Refusal> {
        match msg {
            ClientMsg::Join { .. } => Err((ErrorCode::AlreadyJoined, "this connection has already joined".into())),
            ClientMsg::Leave {} => {
                if !self.is_once(me) {
                    self.activity(ActivityKind::Leave, Some(me), format!("{} left", self.name_of(me)));
                }
                self.members.retain(|m| m.p.id != me);
                if self.leader == Some(me) {
                    self.leader = None;
                }
                if self.former_leader.is_some_and(|(f, _)| f == me) {
                    self.former_leader = None;
                }
                self.out.push_back(Output::Broadcast(ServerMsg::ParticipantLeft { id: me, reason: LeaveReason::Left }));
                self.broadcast_stats();
                self.out.push_back(Output::Close(conn, "left"));
                Ok(())
            }
            ClientMsg::Profile { name, instrument, color } => {
                let name = name.map(|n| clean_name(&n, "name")).transpose()?;
                let instrument = instrument.map(|i| clean_instrument(Some(&i))).transpose()?;
                let color = color.map(|c| clean_color(&c)).transpose()?;
                let m = self.member_mut(me);
                if let Some(n) = name {
                    m.p.name = n;
                }
                if let Some(i) = instrument {
                    m.p.instrument = i;
                }
                if let Some(c) = color {
                    m.p.color = c;
                }
                self.broadcast_participant(me);
                Ok(())
            }
            ClientMsg::Claim {} => {
                if let Some(why) = self.cannot_lead(me) {
                    return Err(why);
                }
                if self.leader != Some(me) {
                    self.set_leader(Some(me));
                }
                Ok(())
            }
            ClientMsg::Release {} => {
                self.require_leader(me)?;
                self.set_leader(None);
                Ok(())
            }
            ClientMsg::Handover { to } => {
                self.require_leader(me)?;
                self.require_online(to)?;
                if to != me {
                    self.set_leader(Some(to));
                }
                Ok(())
            }
            ClientMsg::SetAccess { participant, access } => {
                self.require_leader(me)?;
                self.require_known(participant)?;
                let m = self.member_mut(participant);
                if m.p.access != access {
                    m.p.access = access;
                    self.broadcast_participant(participant);
                    let what = match access {
                        Access::Editor => "can edit",
                        Access::Viewer => "can only view",
                    };
                    self.activity(ActivityKind::Access, Some(me), format!("{} {what} now", self.name_of(participant)));
                }
                Ok(())
            }
            ClientMsg::Tempo { tempo } => {
                self.require_leader(me)?;
                let tempo = Tempo::checked(tempo.0).map_err(|e| (ErrorCode::InvalidTempo, e.to_string()))?;
                let before = self.transport.latest().timeline.tempo;
                self.change(now, me, false, |seg, at| {
                    seg.timeline = crate::timeline::Timeline { tempo, beat_origin: seg.position(at), time_origin: at };
                });
                self.note_tempo(now, me, before, tempo);
                Ok(())
            }
            ClientMsg::Meter { beats, unit, groups } => {
                self.require_leader(me)?;
                let meter =
                    meter_from_wire(beats, unit, groups).map_err(|e| (ErrorCode::InvalidMeter, e.to_string()))?;
                let label = meter.to_string();
                self.change(now, me, false, |seg, at| {
                    let pos = seg.position(at);
                    seg.timeline.beat_origin = pos;
                    seg.timeline.time_origin = at;
                    seg.meter = meter;
                    seg.bar_origin = pos;
                });
                self.activity(ActivityKind::Meter, Some(me), format!("meter {label}"));
                Ok(())
            }
            ClientMsg::Play { count_in, on_bar } => {
                self.require_leader(me)?;
                if count_in > crate::protocol::personal::COUNT_IN_MAX {
                    let most = crate::protocol::personal::COUNT_IN_MAX;
                    return Err((ErrorCode::InvalidPosition, format!("count-in of {count_in} bars; at most {most}")));
                }
                // Checked: a hostile time (i64::MIN) must not overflow the subtraction.
                let hour = Micros::from_secs(3600).0;
                if on_bar.is_some_and(|g| g.0.checked_sub(now.0).is_none_or(|d| d.unsigned_abs() > hour as u64)) {
                    return Err((ErrorCode::InvalidPosition, "on_bar must be within an hour of now".into()));
                }
                if self.transport.latest().playing {
                    return Ok(());
                }
                self.change_on(now, me, true, on_bar, |seg, at| {
                    let start = seg.timeline.beat_origin;
                    let lead_in = Beats(seg.meter.bar_len().0 * i64::from(count_in));
                    seg.playing = true;
                    seg.song_start = start;
                    seg.timeline.beat_origin = start - lead_in;
                    seg.timeline.time_origin = at;
                });
                let count = if count_in > 0 { format!(" after {count_in} bar(s) of count-in") } else { String::new() };
                self.activity(ActivityKind::Play, Some(me), format!("started the metronome{count}"));
                Ok(())
            }
            ClientMsg::Stop {} => {
                self.require_leader(me)?;
                if !self.transport.latest().playing {
                    return Ok(());
                }
                self.change(now, me, false, |seg, at| {
                    let pos = seg.position(at).max(seg.song_start);
                    seg.playing = false;
                    seg.timeline.beat_origin = pos;
                    seg.timeline.time_origin = at;
                });
                self.activity(ActivityKind::Stop, Some(me), "stopped the metronome".into());
                Ok(())
            }
            ClientMsg::Seek { position } => {
                self.require_leader(me)?;
                if position.0 < 0 || position > Beats::whole(1_000_000) {
                    return Err((ErrorCode::InvalidPosition, "the position must be 0 to 1 000 000 beats".into()));
                }
                self.change(now, me, false, |seg, at| {
                    seg.timeline.beat_origin = position;
                    seg.timeline.time_origin = at;
                    seg.song_start = position;
                    // The seek target starts a bar: that is where the musicians will count "one".
                    seg.bar_origin = position;
                    // And the song's flow starts again there.
                    seg.flow = seg.flow.map(|_| crate::timeline::FlowCursor { bar: 0, vamp: None });
                });
                self.activity(ActivityKind::Seek, Some(me), format!("moved to beat {}", position.0 / Beats::ONE));
                Ok(())
            }
            ClientMsg::Sync {} => {
                let snap = self.snapshot(now);
                self.out.push_back(Output::Send(conn, ServerMsg::Snapshot(snap)));
                Ok(())
            }
            ClientMsg::RotateSecret {} => {
                self.require_leader(me)?;
                self.secret = (self.secrets.0)();
                self.send_credentials();
                Ok(())
            }
            ClientMsg::SetPin { pin } => {
                self.require_leader(me)?;
                if let Some(p) = &pin {
                    super::check_pin(p.expose()).map_err(|m| (ErrorCode::InvalidName, m))?;
                }
                self.pin = pin;
                self.pin_guard.clear();
                self.send_credentials();
                Ok(())
            }
            ClientMsg::Cue { text } => self.cue(now, me, &text),
            ClientMsg::CueBy { who, member } => self.set_cue_by(me, who, member),
            ClientMsg::Personal { settings } => self.keep_personal(me, settings),
            ClientMsg::Flow { bar, vamp } => self.move_flow(now, me, bar, vamp),
            // Another layer's ([`ClientMsg::route`]): the connection answers pings and heartbeats,
            // the documents look a song up before `select_song`, and the journal keeps chat,
            // activity and versions. A shell that hands one here has a bug; the sender is told.
            msg @ (ClientMsg::Ping { .. }
            | ClientMsg::Heartbeat { .. }
            | ClientMsg::Song { .. }
            | ClientMsg::Chat { .. }
            | ClientMsg::ChatEdit { .. }
            | ClientMsg::ChatDelete { .. }
            | ClientMsg::ChatReact { .. }
            | ClientMsg::ChatHistory { .. }
            | ClientMsg::ChatExport { .. }
            | ClientMsg::ActivityHistory { .. }
            | ClientMsg::Versions {}
            | ClientMsg::SaveVersion { .. }
            | ClientMsg::RestoreVersion { .. }) => {
                Err((ErrorCode::Unsupported, format!("{} is not the session state machine's to handle", msg.kind())))
            }
            ClientMsg::SyncReport { rtt_us, error_us, synced, output, delivery_us } => {
                let limit = Micros::from_secs(60);
                let delivery = delivery_us.unwrap_or(Micros::ZERO);
                if ![rtt_us, error_us, delivery].iter().all(|v| (Micros::ZERO..=limit).contains(v)) {
                    return Err((
                        ErrorCode::Malformed,
                        "rtt_us, error_us and delivery_us must be 0 to 60 000 000 µs".into(),
                    ));
                }
                if let Some(o) = &output {
                    if !o.is_valid() {
                        return Err((ErrorCode::Malformed, OutputReport::bounds()));
                    }
                }
                let interval = self.cfg.sync_report_interval;
                let m = self.member_mut(me);
                let quality = SyncQuality::judged(rtt_us, error_us, synced, output);
                // What the leader is warned of or told first changed (a calibration, a flag): at
                // once; else the member's figures at most once per interval.
                let changed = m.p.sync.as_ref().is_none_or(|s| quality.shown_otherwise(s));
                m.p.sync = Some(quality);
                m.delivery = delivery;
                let due = m.sync_broadcast_at.is_none_or(|t| now - t >= interval);
                if changed || due {
                    m.sync_broadcast_at = Some(now);
                    self.broadcast_participant(me);
                }
                Ok(())
            }
        }
    }

    /// The leader moves the current song's flow: from the next bar line the band is at flow bar
    /// `bar` (the start of the chorus to repeat, of the outro to go to), vamping on its part if
    /// asked, until the next move.
    fn move_flow(&mut self, now: Micros, me: ParticipantId, bar: Option<i64>, vamp: bool) -> Result<(), Refusal> {
        self.require_leader(me)?;
        if self.song.is_none() {
            return Err((ErrorCode::InvalidPosition, "choose a song first: the flow is the current song's".into()));
        }
        if bar.is_some_and(|b| !(0..=100_000).contains(&b)) || (bar.is_none() && !vamp) {
            return Err((
                ErrorCode::InvalidPosition,
                "a flow bar is 0 to 100 000 (or none, to vamp where the band is)".into(),
            ));
        }
        if bar.is_none() && self.transport.latest().flow.is_some_and(|c| c.vamp.is_some()) {
            return Ok(()); // Already vamping.
        }
        let mut moved = None;
        self.change(now, me, false, |seg, at| {
            // Playing, `at` is a bar line (`change` puts the position on it exactly).
            let pos = seg.position(at);
            let here = seg.flow_bar(pos).map_or(0, |f| f.0);
            // Playing, the flow is at `to` on this bar line, the grid's new origin; stopped,
            // counted from the origin to where the band stands.
            let since = if seg.playing {
                seg.bar_origin = pos;
                0
            } else {
                (pos - seg.bar_origin).0.div_euclid(seg.meter.bar_len().0)
            };
            let to = bar.unwrap_or(here);
            seg.flow = Some(crate::timeline::FlowCursor { bar: to - since, vamp: vamp.then_some(to) });
            moved = Some(to);
        });
        let to = moved.unwrap_or_default();
        let how = if vamp { "vamps from" } else { "moved the song to" };
        self.activity(ActivityKind::Song, Some(me), format!("{how} bar {}", to + 1));
        Ok(())
    }

    /// The current setlist song.
    #[must_use]
    pub fn song(&self) -> Option<&str> {
        self.song.as_deref()
    }

    /// The leader on `conn` makes a setlist song current. Its tempo and meter (when it has them)
    /// land on the next bar line, and the song starts there: the position that auto-scroll and
    /// bar numbers count from. While stopped, the position goes back to the song's beginning.
    /// The driver looks the song up in the documents; the session only checks who may do it.
    ///
    /// # Errors
    /// `not_leader` unless the sender leads.
    pub fn select_song(&mut self, now: Micros, conn: ConnId, choice: SongChoice) -> Result<(), Refusal> {
        self.transport.prune(now);
        let me = self.participant_of(conn).ok_or_else(|| (ErrorCode::NotJoined, "send a join first".to_owned()))?;
        self.require_leader(me)?;
        let SongChoice { id, title, tempo, meter, midi } = choice;
        self.song = id.clone();
        self.change(now, me, false, |seg, at| {
            let pos = if seg.playing { seg.next_bar(seg.position(at)) } else { Beats(0) };
            seg.timeline.beat_origin = pos;
            seg.timeline.time_origin = at;
            if let Some(t) = tempo {
                seg.timeline.tempo = t;
            }
            if let Some(m) = meter {
                seg.meter = m;
            }
            seg.bar_origin = pos;
            seg.song_start = pos;
            seg.song = id.clone().map(|id| SongCue { id, midi });
            seg.flow = id.is_some().then_some(crate::timeline::FlowCursor { bar: 0, vamp: None });
        });
        self.out.push_back(Output::Broadcast(ServerMsg::SongChanged { song: id.clone(), by: Some(me) }));
        let summary = match (&id, title) {
            (None, _) => "cleared the current song".to_owned(),
            (Some(_), Some(t)) => format!("song: {t}"),
            (Some(i), None) => format!("song: {i}"),
        };
        self.activity(ActivityKind::Song, Some(me), summary);
        Ok(())
    }
}
