//! A session's chat, activity stream and document versions: the parts of a session that live in
//! storage rather than in the sans-IO state machine.
//!
//! The session task owns one [`Journal`]. Chat rules come from [`bandsync_core::chat::ChatLog`];
//! this file stamps wall-clock times, persists every change before anyone hears of it, and
//! summarises bursts of document edits into one activity entry and one saved version each.

use crate::clock::HostClock;
use crate::store::{Store, StoreError};
use bandsync_core::ClientMsg;
use bandsync_core::chat::{ChatLog, MAX_PAGE};
use bandsync_core::protocol::{Access, ErrorCode, Participant, ParticipantId, Refusal, ServerMsg};
use bandsync_core::protocol::{ActivityEvent, ActivityKind, ChatMessage, VersionInfo};
use bandsync_core::retention;
use bandsync_docs::{SessionDoc, Summary};
use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;
use std::time::Duration;
use tokio::time::Instant;

/// A burst that never pauses is still closed after this long.
pub const EDIT_MAX: Duration = Duration::from_secs(300);
/// Versions kept for a session without storage (besides the thinning rule).
const MEMORY_VERSIONS: usize = 100;

/// What a journal message causes.
#[derive(Debug)]
pub(crate) enum Effect {
    /// A message for the sender only.
    Reply(ServerMsg),
    /// A message for every member.
    Broadcast(ServerMsg),
    /// A document change (a raw v1 update) the journal made, to store and send to everyone.
    DocUpdate(Vec<u8>),
    /// An activity entry to store (the stored ones through `gone` dropped with it), then send to
    /// everyone: written off the session's task with the documents' appends
    /// (`crate::appends`), so that a slow disk holds the entry, not the session.
    Activity { event: ActivityEvent, gone: Option<u64> },
    /// A chat message as it is now (`old` before the change; the stored messages through `gone`
    /// go with it), to store and then send to everyone, as [`Effect::Activity`]. If the store
    /// refuses it, [`Journal::chat_lost`] puts it back and the sender is told.
    Chat { message: ChatMessage, old: Option<ChatMessage>, gone: Option<u64> },
    /// A version to store (with the versions it lets go), then the list to send to everyone, as
    /// [`Effect::Activity`]. If the store refuses it, [`Journal::versions_lost`] reads the list
    /// back and the sender is told.
    Version { info: VersionInfo, data: Vec<u8>, gone: Vec<u64>, list: Vec<VersionInfo> },
}

/// Who sent a journal message.
pub(crate) struct Author<'a> {
    pub id: ParticipantId,
    pub name: &'a str,
    pub access: Access,
    /// The session's participants, whom a chat message may mention.
    pub people: &'a [Participant],
}

struct Burst {
    started: Instant,
    last: Instant,
    editors: BTreeSet<String>,
    before: Summary,
}

/// What a journal starts from: a session's chat, its newest activity id and its versions, as
/// stored.
#[derive(Debug, Default)]
pub(crate) struct Stored {
    chat: Vec<ChatMessage>,
    last_activity: u64,
    versions: Vec<VersionInfo>,
}

impl Stored {
    /// What the journals of `sessions` start from, by session: three statements for them all.
    pub(crate) fn read(store: &Store, sessions: &[&str]) -> Result<HashMap<String, Stored>, StoreError> {
        let (mut chats, mut last, mut versions) =
            (store.chats(sessions)?, store.last_activity_ids(sessions)?, store.versions_of(sessions)?);
        Ok(sessions
            .iter()
            .map(|&s| {
                let read = Stored {
                    chat: chats.remove(s).unwrap_or_default(),
                    last_activity: last.remove(s).unwrap_or(0),
                    versions: versions.remove(s).unwrap_or_default(),
                };
                (s.to_owned(), read)
            })
            .collect())
    }
}

/// A session's chat, activity and versions.
pub(crate) struct Journal {
    session: String,
    store: Option<Arc<Store>>,
    chat: ChatLog,
    /// Everything, for a session without storage; the stored ones are read back from SQLite.
    activity: Vec<ActivityEvent>,
    last_activity: u64,
    versions: Vec<VersionInfo>,
    version_data: HashMap<u64, Vec<u8>>,
    burst: Option<Burst>,
    /// A burst of edits ends after this long without one (`ServerConfig::edit_idle`).
    edit_idle: Duration,
    /// Where its time comes from: the session's host clock.
    clock: HostClock,
}

/// Runs a blocking storage call without stalling the other tasks on this runtime thread.
pub(crate) fn blocking<T>(f: impl FnOnce() -> T) -> T {
    match tokio::runtime::Handle::try_current().map(|h| h.runtime_flavor()) {
        Ok(tokio::runtime::RuntimeFlavor::MultiThread) => tokio::task::block_in_place(f),
        _ => f(),
    }
}

fn internal(e: &StoreError) -> Refusal {
    tracing::error!(error = %e, "storage failed");
    (ErrorCode::Internal, "the server could not save that; nothing changed".into())
}

impl Journal {
    /// Loads a session's journal from storage (or starts an empty one without storage), from
    /// `read` if it was read already ([`Stored::read`]).
    pub fn load(
        session: &str,
        store: Option<Arc<Store>>,
        read: Option<Stored>,
        edit_idle: Duration,
        clock: HostClock,
    ) -> Result<Self, StoreError> {
        let Stored { chat, last_activity, versions } = match (read, &store) {
            (Some(read), _) => read,
            (None, Some(st)) => Stored::read(st, &[session])?.remove(session).unwrap_or_default(),
            (None, None) => Stored::default(),
        };
        Ok(Journal {
            session: session.to_owned(),
            store,
            chat: ChatLog::new(chat),
            activity: Vec::new(),
            last_activity,
            versions,
            version_data: HashMap::new(),
            burst: None,
            edit_idle,
            clock,
        })
    }

    /// Handles a chat, activity or version message. Nothing changes when it is refused.
    pub fn handle(&mut self, msg: ClientMsg, from: &Author<'_>, doc: &SessionDoc) -> Result<Vec<Effect>, Refusal> {
        let editor = || {
            if from.access == Access::Editor {
                Ok(())
            } else {
                Err((ErrorCode::ReadOnly, "viewers cannot change the chat or the documents".to_owned()))
            }
        };
        if let Some(answer) = self.answer(&msg) {
            return answer.map(|m| vec![Effect::Reply(m)]);
        }
        let at = self.clock.wall_ms();
        match msg {
            ClientMsg::Chat { text, reply_to } => {
                editor()?;
                let m = self.chat.post(from.id, from.name, &text, reply_to, at, from.people)?.clone();
                self.save_chat(m, None)
            }
            ClientMsg::ChatEdit { id, text } => {
                editor()?;
                let old = self.chat.get(id).cloned();
                let m = self.chat.edit(from.id, id, &text, at, from.people)?.clone();
                self.save_chat(m, old)
            }
            ClientMsg::ChatDelete { id } => {
                editor()?;
                let old = self.chat.get(id).cloned();
                let m = self.chat.delete(from.id, id, at)?.clone();
                self.save_chat(m, old)
            }
            ClientMsg::ChatReact { id, emoji } => {
                editor()?;
                let old = self.chat.get(id).cloned();
                let m = self.chat.react(from.id, id, &emoji)?.clone();
                self.save_chat(m, old)
            }
            ClientMsg::ActivityHistory { before, limit } => {
                let (events, more) = self.activity_page(before, page_len(limit)).map_err(|e| internal(&e))?;
                Ok(vec![Effect::Reply(ServerMsg::ActivityHistory { events, more })])
            }
            ClientMsg::SaveVersion { label } => {
                editor()?;
                let label = label.trim();
                if label.is_empty() || label.chars().count() > 80 || label.chars().any(char::is_control) {
                    return Err((ErrorCode::Malformed, "a version label is 1 to 80 characters".into()));
                }
                let saved = self.save_version(label, true, doc);
                Ok(vec![saved, self.record(ActivityKind::Version, Some(from.id), format!("saved version \"{label}\""))])
            }
            ClientMsg::RestoreVersion { id } => {
                editor()?;
                let Some(info) = self.versions.iter().find(|v| v.id == id).cloned() else {
                    return Err((ErrorCode::UnknownMessage, format!("no version {id}")));
                };
                let data = match &self.store {
                    Some(st) => blocking(|| st.version_data(&self.session, id)).map_err(|e| internal(&e))?,
                    None => self.version_data.get(&id).cloned(),
                };
                let data = data.ok_or_else(|| (ErrorCode::UnknownMessage, format!("version {id} has no data")))?;
                let old = SessionDoc::new();
                old.apply_update(&data)
                    .map_err(|e| (ErrorCode::Internal, format!("version {id} is unreadable: {e}")))?;
                // Close any open burst first, so that the edits before the restore are a version too.
                let mut out = self.flush(doc);
                let Some(update) = doc.restore_from(&old) else {
                    return Ok(out);
                };
                out.push(Effect::DocUpdate(update));
                let summary = format!("restored version \"{}\" from {}", info.label, bandsync_core::chat::utc(info.at));
                out.push(self.record(ActivityKind::Version, Some(from.id), summary));
                Ok(out)
            }
            _ => Err((ErrorCode::Internal, "not a journal message".into())),
        }
    }

    /// The answer to a question read from memory (a page of the chat, an export, the versions),
    /// which may show changes still on their way to the disk (`crate::appends::Kind::Answer`);
    /// `None` for any other message.
    pub fn answer(&self, msg: &ClientMsg) -> Option<Result<ServerMsg, Refusal>> {
        Some(match msg {
            ClientMsg::ChatHistory { before, limit, query } => {
                let (messages, more) = self.chat.page(*before, page_len(*limit), query.as_deref());
                Ok(ServerMsg::ChatHistory { messages, more })
            }
            ClientMsg::ChatExport { format } => bandsync_core::chat::export(self.chat.messages(), format)
                .map(|text| ServerMsg::ChatExport { format: format.clone(), text })
                .map_err(|m| (ErrorCode::Malformed, m)),
            ClientMsg::Versions {} => Ok(ServerMsg::Versions { versions: self.versions.clone() }),
            _ => return None,
        })
    }

    /// Persists a changed message before it is broadcast: with a store, by the driver
    /// ([`Effect::Chat`]); without one, it is kept here only.
    fn save_chat(&mut self, m: ChatMessage, old: Option<ChatMessage>) -> Result<Vec<Effect>, Refusal> {
        // What falls out of what a session keeps: dropped with it, in memory at once.
        let gone = retention::dropped_through(m.id, retention::CHAT_KEPT);
        if let Some(gone) = gone {
            self.chat.forget_through(gone);
        }
        if self.store.is_some() {
            return Ok(vec![Effect::Chat { message: m, old, gone }]);
        }
        Ok(vec![Effect::Broadcast(ServerMsg::Chat { message: m })])
    }

    /// Versions the store refused: the list is read back from the store, which has the truth.
    pub fn versions_lost(&mut self) {
        let Some(st) = &self.store else { return };
        match blocking(|| st.versions(&self.session)) {
            Ok(v) => self.versions = v,
            Err(e) => tracing::error!(session = self.session, "could not read the versions back: {e}"),
        }
    }

    /// Chat changes the store refused, in the order they were made. Every change made since is
    /// lost with them (nothing is in flight after a failed write), so the store holds the chat
    /// as it should be: it is read back. That also holds when the write's outcome is unknown (a
    /// connection lost during its COMMIT, which may have landed): a message put back blindly
    /// would then give its id to the next one, over the one stored. If the store cannot be read,
    /// each change is put back as it was (the oldest messages a change let go, past what a
    /// session keeps, then stay gone from memory until the session loads again).
    pub fn chat_lost(&mut self, lost: &[crate::appends::ChatChange]) {
        let Some(st) = self.store.as_ref().filter(|_| !lost.is_empty()) else { return };
        match blocking(|| st.chat(&self.session)) {
            Ok(chat) => self.chat = ChatLog::new(chat),
            Err(e) => {
                tracing::error!(session = self.session, "could not read the chat back: {e}");
                for c in lost.iter().rev() {
                    self.chat.undo(c.message.id, c.old.clone());
                }
            }
        }
    }

    /// Adds an activity event, persisted before it is broadcast: with a store, by the driver
    /// ([`Effect::Activity`]); without one, kept here.
    pub fn record(&mut self, kind: ActivityKind, by: Option<ParticipantId>, summary: String) -> Effect {
        let event = ActivityEvent { id: self.last_activity + 1, at: self.clock.wall_ms(), kind, by, summary };
        let gone = retention::dropped_through(event.id, retention::ACTIVITY_KEPT);
        self.last_activity = event.id;
        if self.store.is_some() {
            return Effect::Activity { event, gone };
        }
        self.activity.push(event.clone());
        if let Some(old) = gone {
            let n = self.activity.partition_point(|e| e.id <= old);
            self.activity.drain(..n);
        }
        Effect::Broadcast(ServerMsg::Activity { event })
    }

    fn activity_page(&self, before: Option<u64>, limit: usize) -> Result<(Vec<ActivityEvent>, bool), StoreError> {
        if let Some(st) = &self.store {
            return blocking(|| st.activity(&self.session, before, limit));
        }
        let older: Vec<&ActivityEvent> = self.activity.iter().filter(|e| before.is_none_or(|b| e.id < b)).collect();
        let more = older.len() > limit;
        Ok((older[older.len().saturating_sub(limit)..].iter().map(|e| (*e).clone()).collect(), more))
    }

    /// Saves the documents as a version (`named`: a member's label, not a burst's summary), and
    /// lets go of the versions the thinning rule no longer keeps ([`retention`]).
    fn save_version(&mut self, label: &str, named: bool, doc: &SessionDoc) -> Effect {
        let data = doc.encode_state();
        let info = VersionInfo {
            id: self.versions.last().map_or(1, |v| v.id + 1),
            at: self.clock.wall_ms(),
            label: label.to_owned(),
            size: data.len() as u64,
            named,
        };
        let kept: Vec<retention::Kept> = self
            .versions
            .iter()
            .chain(std::iter::once(&info))
            .map(|v| retention::Kept { id: v.id, at: v.at, named: v.named })
            .collect();
        let mut gone = retention::versions_to_drop(&kept, info.at);
        if self.store.is_some() {
            // Stored with the session's appends, off its task (the driver); the list as it will be.
            self.versions.push(info.clone());
            self.versions.retain(|v| !gone.contains(&v.id));
            return Effect::Version { info, data, gone, list: self.versions.clone() };
        }
        // Without storage they are in memory: fewer of them.
        let over = (self.versions.len() + 1).saturating_sub(MEMORY_VERSIONS);
        gone.extend(self.versions.iter().take(over).map(|v| v.id));
        self.version_data.insert(info.id, data);
        self.versions.push(info);
        self.versions.retain(|v| !gone.contains(&v.id));
        self.version_data.retain(|id, _| !gone.contains(id));
        Effect::Broadcast(ServerMsg::Versions { versions: self.versions.clone() })
    }

    /// Notes that `who` (a name) is about to change the documents; call before applying.
    pub fn editing(&mut self, who: String, doc: &SessionDoc) {
        let now = self.clock.instant();
        let b = self.burst.get_or_insert_with(|| Burst {
            started: now,
            last: now,
            editors: BTreeSet::new(),
            before: doc.summary(),
        });
        b.last = now;
        b.editors.insert(who);
    }

    /// When the open burst of edits is due to be closed.
    pub fn deadline(&self) -> Option<Instant> {
        self.burst.as_ref().map(|b| (b.last + self.edit_idle).min(b.started + EDIT_MAX))
    }

    /// Closes the open burst of edits, if any: one activity entry and one saved version.
    pub fn flush(&mut self, doc: &SessionDoc) -> Vec<Effect> {
        let Some(b) = self.burst.take() else { return Vec::new() };
        let change = doc.summary().describe_change(&b.before);
        if change.is_empty() {
            return Vec::new();
        }
        let who: Vec<String> = b.editors.into_iter().collect();
        let summary = format!("{} edited: {change}", who.join(", "));
        vec![self.save_version(&summary, false, doc), self.record(ActivityKind::Edit, None, summary)]
    }
}

fn page_len(limit: Option<u32>) -> usize {
    limit.map_or(50, |l| l as usize).clamp(1, MAX_PAGE)
}

#[cfg(test)]
mod tests;
