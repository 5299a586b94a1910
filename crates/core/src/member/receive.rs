//! What the server says: every text frame, from pongs and refusals to the welcome and the
//! mirrored session state, and the events and delivery delays that come of it.

use super::{ConnState, Member, MemberEvent, Transmit};
use crate::clock::ASKED_PING_MS;
use crate::host_axis::HostAxis;
use crate::mirror::{Changed, Mirror};
use crate::protocol::ServerMsg;
use crate::time::Micros;

impl Member {
    /// A text frame from the server. `now` is read as the frame arrives, before anything else is
    /// done with it: for a pong it is the receive time of the clock exchange.
    ///
    /// Returns whether it is a message about the session for the embedding to see: not a pong or
    /// a heartbeat (the member's own), not one this build cannot read, not a schedule no session
    /// could make. With `forward_server_messages` it is also a [`MemberEvent::Server`]; the page
    /// reads it itself instead (`reads_messages`), with what it changed in the member's mirror
    /// ([`Member::changed`]).
    pub fn handle_text(&mut self, now: Micros, text: &str) -> bool {
        if !matches!(self.conn, ConnState::Open(_)) {
            return false;
        }
        self.handle_heard(now);
        self.changed = Changed::default();
        let Ok(msg) = serde_json::from_str::<ServerMsg>(text) else {
            // A newer server's message this build does not know: nothing to do with it.
            return false;
        };
        // A schedule no session could make (from a broken or hostile host) is dropped here,
        // before anything divides by its tempo.
        if !Mirror::plausible(&msg) {
            return false;
        }
        let shown = !matches!(msg, ServerMsg::Pong { .. } | ServerMsg::Heartbeat { .. });
        if self.cfg.forward_server_messages && shown {
            self.events.push_back(MemberEvent::Server { msg: msg.clone() });
        }
        self.receive(now, msg);
        shown
    }

    /// A server message, read and checked.
    fn receive(&mut self, now: Micros, msg: ServerMsg) {
        match msg {
            ServerMsg::Pong { n, t0, t1, t2, epoch } => {
                // A new connection's pings are answered by the server at once, its join after
                // the session is ready: a pong from another clock can overtake the welcome that
                // says how that clock continues ours (a session carried to another server). It
                // is no news until the welcome came; taken as a restart, it would throw away the
                // estimate the band is clicking on.
                let joined = matches!(&self.conn, ConnState::Open(o) if o.joined);
                if !joined && self.clock.epoch().is_some_and(|e| e != epoch) {
                    return;
                }
                self.clock.handle_pong(now, n, t0, t1, t2, epoch);
                self.delivered(t2, now);
            }
            ServerMsg::Heartbeat { .. } => {}
            ServerMsg::Cue { text, at, bar, by } => {
                if !self.cfg.forward_server_messages && !self.cfg.reads_messages {
                    self.events.push_back(MemberEvent::Cue { text, at, bar, by });
                }
            }
            ServerMsg::Credentials { secret, pin, viewer } => {
                self.events.push_back(MemberEvent::Credentials { secret, pin, viewer });
            }
            ServerMsg::Error { code, message, about } => {
                let joined = matches!(&self.conn, ConnState::Open(o) if o.joined);
                if !joined && about.as_deref() == Some("join") && code.is_refusal() {
                    self.out.push_back(Transmit::Close);
                    self.end(MemberEvent::Refused { code, message });
                } else if !self.cfg.forward_server_messages && !self.cfg.reads_messages {
                    self.events.push_back(MemberEvent::Error { code, message, about });
                }
            }
            ServerMsg::Welcome { you, resume, resumed, epoch, rebase, ping_ms, snapshot, .. } => {
                // The cadence this server asks for, within what a member keeps; its own otherwise.
                let asked = ping_ms.map(|ms| ms.clamp(*ASKED_PING_MS.start(), *ASKED_PING_MS.end()));
                self.clock.set_steady_interval(
                    asked.map_or(self.cfg.clock.steady_interval, |ms| Micros::from_millis(i64::from(ms))),
                );
                // A session carried to another server: the estimate moves onto its clock, before
                // the schedule on that clock is used, and keeps time through the move.
                let rebased = rebase.filter(|r| self.clock.rebase(r.from, epoch, r.shift));
                if rebased.is_none() {
                    // Another clock that does not continue ours (a restarted host): sync again.
                    self.clock.new_epoch(now, epoch);
                }
                // Kept on every schedule of this clock, so that any one of them moves what the
                // schedules before left behind.
                if epoch != self.axis.epoch {
                    self.axis = HostAxis { epoch, continues: rebased };
                }
                self.token = Some(resume);
                self.attempt = 0;
                self.down_since = None;
                if let ConnState::Open(o) = &mut self.conn {
                    o.joined = true;
                }
                self.events.push_back(MemberEvent::Joined {
                    you,
                    session: snapshot.session.clone(),
                    name: snapshot.name.clone(),
                    resumed,
                });
                let now_host = snapshot.now;
                self.mirror = Some(Mirror::from_welcome(you, epoch, snapshot));
                self.mirrored(Changed::WHOLE, now_host);
            }
            msg => {
                let Some(m) = self.mirror.as_mut() else { return };
                let changed = m.apply(&msg);
                let now_host = match &msg {
                    ServerMsg::Transport { now: sent, .. } => {
                        self.delivered(*sent, now);
                        *sent
                    }
                    ServerMsg::Snapshot(s) => s.now,
                    _ => Micros::ZERO,
                };
                self.mirrored(changed, now_host);
            }
        }
    }

    /// A message the server sent at host time `sent` is handled at local `now`: one more delay for
    /// the reports, once the clock has synced and can say what `now` is on the host's clock.
    fn delivered(&mut self, sent: Micros, now: Micros) {
        if self.clock.has_synced() {
            if let Some(handled) = self.clock.to_host(now) {
                self.delivery.record(sent, handled);
            }
        }
    }

    fn mirrored(&mut self, changed: Changed, now_host: Micros) {
        self.changed = changed;
        let Some(m) = &self.mirror else { return };
        if changed.participants && !self.cfg.reads_messages {
            self.events.push_back(MemberEvent::Participants { participants: m.participants.clone(), stats: m.stats });
        }
        if changed.transport {
            self.events.push_back(MemberEvent::Transport {
                transport: m.transport.clone(),
                now: now_host,
                axis: self.axis,
            });
        }
    }
}
