//! What a session appends to the store (an edit, an activity entry, a chat change, a version,
//! its carried state, its secret and PIN), and what a write that fails lost of them: whom to
//! tell, and what to put back or write again.

use crate::store::{Appended, StoredSession};
use bandsync_core::ConnId;
use bandsync_core::protocol::{ActivityEvent, ChatMessage, Secret, VersionInfo};
use bandsync_core::session::carry::CarriedParts;

/// One append: a document update (from the member who sent it, if one did), an activity entry
/// with the stored entries it lets go, a chat message as it is now (with the stored messages it
/// lets go), a version, the session's carried state (JSON; the last one of a write is the one
/// written, with the last roster among them), or its secrets and PIN (the last one of a write
/// is the one written).
#[derive(Debug)]
pub(crate) enum Append {
    Update(Vec<u8>, Option<ConnId>),
    Activity(ActivityEvent, Option<u64>),
    Chat(Box<ChatChange>),
    Version(Box<NewVersion>),
    Carried(CarriedParts),
    Secrets(Box<SecretsChange>),
}

/// The session's row with a new secret or PIN, to store; if that fails, what to put back.
#[derive(Debug)]
pub(crate) struct SecretsChange {
    pub row: StoredSession,
    pub undo: SecretsUndo,
}

/// What a change of the secret or PIN replaced: put back if it is not stored.
#[derive(Debug, Clone)]
pub(crate) struct SecretsUndo {
    /// The secret before, if the change rotated it.
    pub secret: Option<Secret>,
    /// The PIN before (`Some(None)`: there was none), if the change set it.
    pub pin: Option<Option<Secret>>,
}

impl SecretsUndo {
    /// What undoing `self` and then `later` (a change made after it) puts back: the oldest value
    /// of each.
    pub(crate) fn then(self, later: SecretsUndo) -> SecretsUndo {
        SecretsUndo { secret: self.secret.or(later.secret), pin: self.pin.or(later.pin) }
    }
}

/// A version to store, with its data and the versions the thinning rule lets go with it.
#[derive(Debug)]
pub(crate) struct NewVersion {
    pub info: VersionInfo,
    pub data: Vec<u8>,
    pub gone: Vec<u64>,
    /// Who asked for it (a named version), told if it is lost.
    pub from: Option<ConnId>,
}

/// A chat message as it is now, to store; if that fails, to put back as it was.
#[derive(Debug)]
pub(crate) struct ChatChange {
    pub message: ChatMessage,
    /// The stored messages through this id go with it.
    pub gone: Option<u64>,
    /// The message before the change (`None`: it is new).
    pub old: Option<ChatMessage>,
    /// Who made the change, told if it is lost.
    pub from: Option<ConnId>,
}

/// What a write's rows (and those queued behind it) mean if it fails: whom to tell, what to put
/// back or write again.
#[derive(Debug, Default)]
pub(crate) struct Lost {
    /// Who sent the edits, each once.
    pub senders: Vec<ConnId>,
    /// Whether document updates were among them (the documents in memory are then ahead).
    pub updates: bool,
    /// Whether a carried state was among them (to be written again).
    pub carried: bool,
    /// The chat changes, in the order they were made (to be undone in reverse).
    pub chat: Vec<ChatChange>,
    /// Whether versions were among them, and who asked for them.
    pub versions: Option<Vec<ConnId>>,
    /// What to put back of the secret and PIN, if changes of them were among them.
    pub secrets: Option<SecretsUndo>,
}

impl Lost {
    /// Notes what losing `row` would mean, and puts what it stores into `batch`.
    pub(super) fn take(&mut self, row: Append, batch: &mut Appended) {
        match row {
            Append::Update(u, from) => {
                self.updates = true;
                self.senders.extend(from);
                batch.updates.push(u);
            }
            Append::Activity(event, gone) => batch.activity.push((event, gone)),
            Append::Chat(c) => {
                batch.chat.push((c.message.clone(), c.gone));
                self.chat.push(*c);
            }
            Append::Version(v) => {
                self.versions.get_or_insert_with(Vec::new).extend(v.from);
                batch.versions.push((v.info, v.data, v.gone));
            }
            Append::Carried(CarriedParts { schedule, roster }) => {
                self.carried = true;
                batch.carried = Some(schedule);
                // A write's last roster is the members as they are: a later schedule without one
                // did not change them (as `put_carried` merges a group's rows of one session).
                batch.roster = roster.or(batch.roster.take());
            }
            Append::Secrets(c) => {
                let SecretsChange { row, undo } = *c;
                self.secrets = Some(match self.secrets.take() {
                    Some(first) => first.then(undo),
                    None => undo,
                });
                batch.session_row = Some(row);
            }
        }
    }
}
