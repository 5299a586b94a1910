//! The member's timers: connection attempts that take too long, reconnects, heartbeats and the
//! silent-server check, clock pings, and the sync reports (as events, and to the server).

use super::{ConnState, Member, MemberEvent, Transmit};
use crate::protocol::{ClientMsg, SyncQuality};
use crate::time::Micros;

impl Member {
    /// Timers: clock pings, heartbeats and the silent-server check, reports, reconnects and
    /// connection attempts that take too long.
    pub fn handle_timeout(&mut self, now: Micros) {
        match &mut self.conn {
            ConnState::Connecting { deadline } if now >= *deadline => {
                self.out.push_back(Transmit::Close);
                // Whole milliseconds: a connect timeout is set in them.
                let ms = self.cfg.connect_timeout.0 / 1000;
                self.dropped(now, format!("no answer from {} in {ms} ms", self.cfg.target.ws_url));
            }
            ConnState::Waiting { until } if now >= *until => self.connect(now),
            ConnState::Open(o) => {
                if now.0 - o.last_heard.0 > self.cfg.idle_timeout.0 {
                    self.out.push_back(Transmit::Close);
                    self.dropped(now, "the server went silent".into());
                    return;
                }
                if now >= o.next_heartbeat {
                    o.heartbeats = o.heartbeats.wrapping_add(1);
                    o.next_heartbeat = now.saturating_add(self.cfg.heartbeat);
                    let n = o.heartbeats;
                    self.send_now(&ClientMsg::Heartbeat { n });
                }
                if self.clock.poll_timeout() <= now {
                    if let Some((n, t0)) = self.clock.poll_ping(now) {
                        self.send_now(&ClientMsg::Ping { n, t0 });
                    }
                }
                self.report(now);
            }
            _ => {}
        }
    }

    fn report(&mut self, now: Micros) {
        let ConnState::Open(o) = &mut self.conn else { return };
        if now < o.next_report {
            return;
        }
        o.next_report = now.saturating_add(self.cfg.report_interval);
        let status = self.clock.status(now);
        if status.error_us == i64::MAX {
            return;
        }
        self.events.push_back(MemberEvent::Clock { status });
        o.reports += 1;
        if !o.joined {
            return;
        }
        let limit = Micros::from_secs(60);
        let (rtt_us, error_us) =
            (Micros(status.rtt_us).clamp(Micros::ZERO, limit), Micros(status.error_us).clamp(Micros::ZERO, limit));
        let quality = SyncQuality::judged(rtt_us, error_us, status.synced, self.output.clone());
        // At the server's interval, and at once when the report changes what the leader's list
        // shows (synced or not, a concern, the output's figure or its source: a calibration), by
        // the rule the host broadcasts it by; at most once in `early_report_gap` reports.
        let due = o.reports % self.cfg.server_report_every.max(1) == 0;
        let shown = o.reported.as_ref().is_none_or(|before| quality.shown_otherwise(before));
        let early_ok = o.early_at.is_none_or(|at| o.reports.wrapping_sub(at) >= self.cfg.early_report_gap);
        if due || (shown && early_ok) {
            if !due {
                o.early_at = Some(o.reports);
            }
            let m = ClientMsg::SyncReport {
                rtt_us,
                error_us,
                synced: status.synced,
                output: quality.output.clone(),
                delivery_us: self.delivery.p95(),
            };
            o.reported = Some(quality);
            self.send_now(&m);
        }
    }

    /// When [`Member::handle_timeout`] must next be called.
    #[must_use]
    pub fn poll_timeout(&self) -> Option<Micros> {
        match &self.conn {
            ConnState::Connecting { deadline } => Some(*deadline),
            ConnState::Waiting { until } => Some(*until),
            ConnState::Open(o) => {
                let idle = o.last_heard.saturating_add(Micros(self.cfg.idle_timeout.0 + 1));
                Some(o.next_heartbeat.min(o.next_report).min(idle).min(self.clock.poll_timeout()))
            }
            ConnState::Ended => None,
        }
    }
}
