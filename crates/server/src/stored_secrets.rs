//! A session's join secret and PIN on their way to the disk. A rotation or a new PIN is stored
//! with the session's appends (`crate::appends`, off its task), and the credentials that carry it
//! wait until it is durable: nobody may hear of a link that a restart would not know. One the
//! disk refuses is put back (the links out there keep working), its credentials are dropped, and
//! the leader is told and given the ones in force; the row in force is then written again, since
//! a write reported failed may have landed.

use crate::appends::{Append, Appends, SecretsChange, SecretsUndo};
use crate::driver::{Driver, SecretAndPin};
use crate::store::{StoreError, StoredSession};
use bandsync_core::Session;

/// The secret and PIN `session` has now.
pub(crate) fn secrets_of(session: &Session) -> SecretAndPin {
    (session.secret().clone(), session.pin().cloned())
}

impl Driver {
    /// At the end of a step: puts back what a failed write lost of the secret and PIN, then
    /// stores a new secret or PIN the step made, with the appends (its credentials wait for it:
    /// [`Driver::credentials_held`]). `again`: the row is written even if neither changed
    /// ([`crate::driver::Redo`]'s `secrets`).
    pub(crate) fn store_secrets(&mut self, session: &mut Session, again: bool) {
        if let Some(undo) = self.secrets_lost.take() {
            if let Some(old) = undo.secret {
                session.rotation_not_saved(old);
            }
            if let Some(old) = undo.pin {
                session.pin_not_saved(old);
            }
            self.secrets = secrets_of(session);
            // A write reported failed may have landed all the same (a COMMIT left unanswered):
            // the disk may hold what was put back or what the write carried, so the row in force
            // is written again, as the next input arrives (at once, a disk refusing everything
            // would be asked without end).
            self.redo.secrets = true;
        }
        let Some(a) = self.appends.as_mut() else { return };
        let now = secrets_of(session);
        if now == self.secrets && !again {
            return;
        }
        let (old_secret, old_pin) = std::mem::replace(&mut self.secrets, now);
        let undo = SecretsUndo {
            secret: (old_secret != *session.secret()).then_some(old_secret),
            pin: (old_pin.as_ref() != session.pin()).then_some(old_pin),
        };
        let row = StoredSession {
            id: session.id().to_owned(),
            name: session.name().to_owned(),
            secret: session.secret().expose().to_owned(),
            leader_secret: session.leader_secret().map(|s| s.expose().to_owned()),
            viewer_secret: session.viewer_secret().map(|s| s.expose().to_owned()),
            pin: session.pin().map(|p| p.expose().to_owned()),
        };
        a.push(Append::Secrets(Box::new(SecretsChange { row, undo })));
        self.news_due = true;
    }

    /// Notes what a failed write lost of the secret and PIN, to put back at the end of the step
    /// ([`Driver::store_secrets`]). A session deleted meanwhile puts nothing back: it ends.
    pub(crate) fn secrets_not_stored(&mut self, error: &StoreError, lost: Option<SecretsUndo>) {
        let Some(undo) = lost.filter(|_| !matches!(error, StoreError::Deleted(_))) else { return };
        self.secrets_lost = Some(match self.secrets_lost.take() {
            Some(earlier) => earlier.then(undo),
            None => undo,
        });
    }

    /// Whether credentials must wait for the disk, and be dropped if it refuses: while a new
    /// secret or PIN is on its way there.
    pub(crate) fn credentials_held(&self) -> bool {
        self.appends.as_ref().is_some_and(Appends::secrets_pending)
    }
}
