//! Each member's own settings ([`Personal`]): kept for the member, by name, and passed between
//! the member's devices. Nobody else hears of them.
//!
//! The host keeps them in memory only. After a restart, or on the node that takes the session
//! over, the welcome has none, and the member's first device back gives its own again.

use super::{Output, Refusal, Session};
use crate::protocol::{ErrorCode, ParticipantId, Personal, ServerMsg, member_key};

impl Session {
    /// `me` changed its member's own settings: keep them, and pass them to every device of the
    /// member that is on, the sender's too: two devices that changed them at once then both take
    /// the one the host kept last, rather than each other's.
    pub(super) fn keep_personal(&mut self, me: ParticipantId, settings: Personal) -> Result<(), Refusal> {
        settings.check().map_err(|e| (ErrorCode::Malformed, e.to_owned()))?;
        let name = self.member_mut(me).p.name.clone();
        let key = member_key(&name);
        if self.personal.get(&key) == Some(&settings) {
            return Ok(());
        }
        if !self.personal.contains_key(&key) && self.personal.len() >= self.cfg.max_members {
            // Bounded: forget the settings of names nobody here has any more.
            let here: std::collections::BTreeSet<String> = self.members.iter().map(|m| member_key(&m.p.name)).collect();
            self.personal.retain(|k, _| here.contains(k));
        }
        for m in &self.members {
            if let (Some(conn), true) = (m.conn, m.p.is_called(&name)) {
                self.out.push_back(Output::Send(conn, ServerMsg::Personal { settings: settings.clone() }));
            }
        }
        self.personal.insert(key, settings);
        Ok(())
    }

    /// The own settings of the member `id` is, where a device of theirs gave them.
    pub(super) fn personal_of(&self, id: ParticipantId) -> Option<Personal> {
        let m = self.members.iter().find(|m| m.p.id == id)?;
        self.personal.get(&member_key(&m.p.name)).cloned()
    }
}
