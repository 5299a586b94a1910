//! Cues to the band, and who besides the leader may send them ([`CueBy::allows`]).

use super::{Output, Refusal, Session};
use crate::protocol::{Access, ActivityKind, CueBy, ErrorCode, ParticipantId, ServerMsg, member_key};
use crate::time::Micros;

impl Session {
    /// The leader lets every editor cue, or names one member who may (`member`: a participant,
    /// whose name is kept), or neither.
    pub(super) fn set_cue_by(
        &mut self,
        me: ParticipantId,
        who: CueBy,
        member: Option<ParticipantId>,
    ) -> Result<(), Refusal> {
        self.require_leader(me)?;
        if who == CueBy::Editors && member.is_some() {
            return Err((
                ErrorCode::Malformed,
                "name a member with who \"leader\": every editor may cue already".into(),
            ));
        }
        let member = match member {
            Some(id) => {
                self.require_known(id)?;
                let p = &self.member_mut(id).p;
                if p.access == Access::Viewer {
                    return Err((ErrorCode::ReadOnly, format!("{} can only view, so cannot cue", p.name)));
                }
                Some(p.name.clone())
            }
            None => None,
        };
        let key = |m: &Option<String>| m.as_deref().map(member_key);
        if (who, key(&member)) != (self.cue_by, key(&self.cue_member)) {
            self.cue_by = who;
            self.cue_member.clone_from(&member);
            let summary = match (who, &member) {
                (CueBy::Editors, _) => "lets everyone who edits cue".to_owned(),
                (CueBy::Leader, Some(name)) => format!("lets {name} cue"),
                (CueBy::Leader, None) => "lets only the leader cue".to_owned(),
            };
            self.out.push_back(Output::Broadcast(ServerMsg::CueBy { who, member }));
            self.activity(ActivityKind::Cue, Some(me), summary);
        }
        Ok(())
    }

    /// A cue, landing on the next bar line (after the lead time, like any change) while playing,
    /// at once when stopped: the leader's, or an editor's when the leader allows it ([`CueBy::allows`]).
    pub(super) fn cue(&mut self, now: Micros, me: ParticipantId, text: &str) -> Result<(), Refusal> {
        let allowed = self.members.iter().any(|m| m.p.id == me && self.cue_by.allows(self.cue_member.as_deref(), &m.p));
        if !allowed {
            self.require_leader(me).map_err(|(code, _)| {
                (code, "only the leader sends cues, unless the leader lets you or everyone who edits cue".to_owned())
            })?;
        }
        let text = crate::protocol::cue_text(text).map_err(|e| (ErrorCode::Malformed, e.to_owned()))?;
        self.transport.prune(now);
        let playing = self.transport.latest().playing;
        let at = if playing { self.transport.next_boundary(now + self.lead_time()) } else { now };
        let bar = playing.then(|| {
            let seg = self.transport.segment_at(at);
            (seg.nearest_bar(seg.position(at)) - seg.bar_origin).0.div_euclid(seg.meter.bar_len().0)
        });
        self.out.push_back(Output::Broadcast(ServerMsg::Cue { text: text.to_owned(), at, bar, by: me }));
        self.activity(ActivityKind::Cue, Some(me), format!("cued: {text}"));
        Ok(())
    }
}
