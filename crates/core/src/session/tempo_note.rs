//! A tempo being set: one activity entry once it settles, not one per change. A slider drag, tap
//! tempo or a foot controller sends dozens of changes in a second; each still lands on its bar as
//! a `transport`, but the activity stream (and the store, and every member's socket) gets one
//! entry: "tempo 120 → 132 BPM".

use super::{Output, Session};
use crate::protocol::{ActivityKind, ParticipantId};
use crate::time::Micros;
use crate::timeline::Tempo;

/// How long the tempo must stay put before its entry is written.
pub const TEMPO_SETTLE: Micros = Micros(1_500_000);

/// The changes of one leader's tempo since the last entry.
#[derive(Debug, Clone, Copy)]
pub(super) struct TempoNote {
    by: ParticipantId,
    from: Tempo,
    to: Tempo,
    changes: u32,
    last: Micros,
}

impl TempoNote {
    /// When its entry is due.
    pub(super) fn due(&self) -> Micros {
        self.last.saturating_add(TEMPO_SETTLE)
    }

    fn summary(&self) -> String {
        if self.changes == 1 || self.from == self.to {
            format!("tempo {} BPM", self.to.bpm())
        } else {
            format!("tempo {} → {} BPM", self.from.bpm(), self.to.bpm())
        }
    }
}

impl Session {
    /// `by` set the tempo from `from` to `to`: noted, for one entry when it settles.
    pub(super) fn note_tempo(&mut self, now: Micros, by: ParticipantId, from: Tempo, to: Tempo) {
        match &mut self.tempo_note {
            Some(n) if n.by == by => {
                n.to = to;
                n.changes += 1;
                n.last = now;
            }
            _ => {
                self.flush_tempo_note();
                self.tempo_note = Some(TempoNote { by, from, to, changes: 1, last: now });
            }
        }
    }

    /// Writes the noted tempo's entry now (it settled, or another entry comes after it).
    pub(super) fn flush_tempo_note(&mut self) {
        if let Some(n) = self.tempo_note.take() {
            self.out.push_back(Output::Activity { kind: ActivityKind::Tempo, by: Some(n.by), summary: n.summary() });
        }
    }
}
