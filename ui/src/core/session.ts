//! The session as this member sees it. Who is there, the schedule and the current song come from
//! the Rust mirror (`crates/core/src/mirror.rs`, in wasm) fed with every server message; this file
//! adds only the UI's own lists on top: chat, activity, versions, the leader's credentials. Every
//! update returns a new object (the views compare by identity).

import type { ActivityEvent, ChatMessage, CueBy, Mirror, Mirrored, Participant, RoomStats, ServerMsg, Transport, VersionInfo } from '../bindings';

/** What a pending `chat_history` request was for; answers come back in request order. */
export type ChatRequest = 'page' | 'search';

export interface ChatSearch {
  query: string;
  results: ChatMessage[];
  more: boolean;
  /** Whether an answer is still awaited. */
  pending: boolean;
}

export interface SessionState {
  /** Our participant id, from the welcome. */
  you: number;
  /** Host clock epoch of the welcome. */
  epoch: number;
  session: string;
  name: string;
  /** Everyone, in join order. */
  participants: Participant[];
  stats: RoomStats;
  transport: Transport;
  /** The current song id (`snapshot.song`, `song_changed`). */
  song: string | null;
  /** Who chose the current song, when known. */
  songBy: number | null;
  /** Who besides the leader may cue, and the member the leader named (by name). */
  cueBy: CueBy;
  cueMember: string | null;
  /** Whether we may cue now (the core's rule, `CueBy::allows`). */
  mayCue: boolean;
  /** The latest `credentials`: only a leader has them. */
  credentials: { secret: string; pin: string | null; viewer?: string | null } | null;
  /** Chat messages loaded so far, by id. */
  chat: ChatMessage[];
  /** Whether older messages remain on the server. `null` until the first page came. */
  chatMore: boolean | null;
  chatRequests: ChatRequest[];
  search: ChatSearch | null;
  /** Activity events loaded so far, by id. */
  activity: ActivityEvent[];
  activityMore: boolean | null;
  /** Saved versions, newest last, once asked for. */
  versions: VersionInfo[] | null;
}

/** The state after a welcome: the mirror's view, with what the UI had kept when the same session
 *  resumes (chat, activity and versions are re-fetched and merged, so nothing shown goes away
 *  during a reconnect). */
function fromMirror(m: Mirror, prev: SessionState | null): SessionState {
  const same = prev && prev.session === m.session && prev.epoch === m.epoch;
  return {
    you: m.you,
    epoch: m.epoch,
    session: m.session,
    name: m.name,
    participants: m.participants,
    stats: m.stats,
    transport: m.transport,
    song: m.song ?? null,
    cueBy: m.cue_by,
    cueMember: m.cue_member ?? null,
    mayCue: m.may_cue,
    songBy: null,
    credentials: same ? prev.credentials : null,
    chat: same ? prev.chat : [],
    chatMore: same ? prev.chatMore : null,
    chatRequests: [],
    search: same && prev.search ? { ...prev.search, pending: false } : null,
    activity: same ? prev.activity : [],
    activityMore: same ? prev.activityMore : null,
    versions: same ? prev.versions : null,
  };
}

/** Inserts or replaces items by id, keeping them sorted by id. */
export function upsertById<T extends { id: number }>(list: readonly T[], items: readonly T[]): T[] {
  if (items.length === 0) return list as T[];
  const byId = new Map<number, T>();
  for (const x of list) byId.set(x.id, x);
  for (const x of items) byId.set(x.id, x);
  return [...byId.values()].sort((a, b) => a.id - b.id);
}

/** Records that a `chat_history` request went out, so its answer lands in the right list. */
export function chatRequested(s: SessionState, kind: ChatRequest, query?: string): SessionState {
  const search =
    kind === 'search' ? { query: query ?? '', results: [], more: false, pending: true } : s.search;
  return { ...s, chatRequests: [...s.chatRequests, kind], search };
}

/** Closes the search view. */
export function clearSearch(s: SessionState): SessionState {
  return { ...s, search: null };
}

/**
 * Applies one server message: first what it changed in the Rust mirror (`r`: who is there, the
 * schedule, the song; a schedule no session could make is ignored there; `null` when it changed
 * nothing there), then to the UI's lists. Returns the same object when nothing changed; `null`
 * until a welcome came.
 */
export function apply(s: SessionState | null, msg: ServerMsg, r: Mirrored | null): SessionState | null {
  if (msg.type === 'welcome') return r?.mirror ? fromMirror(r.mirror, s) : s;
  if (!s) return s;
  if (!r) return applyUi(s, msg);
  let next = s;
  const c = r.changed;
  const m = r.mirror;
  if (m && c.snapshot) {
    next = { ...fromMirror(m, s), chatRequests: s.chatRequests, search: s.search, songBy: s.songBy };
  } else if (c.participants || c.transport || c.song) {
    // Only what changed gets a new object, so that e.g. a member's sync report re-renders no view
    // of the schedule. The core sends only what changed: one participant where the list took a
    // splice (the core says where), the whole list only where it did not. The counts follow the
    // list, but most participant updates leave them as they were.
    const a = s.stats, b = m?.stats ?? r.stats ?? a;
    let participants = s.participants;
    if (m) participants = m.participants;
    else if (c.splice) {
      participants = [...participants];
      participants.splice(c.splice.at, c.splice.remove, ...(r.participant ? [r.participant] : []));
    }
    next = {
      ...s,
      participants,
      stats: a.members === b.members && a.online === b.online && a.leader === b.leader ? a : b,
      transport: r.transport ?? (m && c.transport ? m.transport : s.transport),
      song: c.song ? ((m ? m.song : r.song) ?? null) : s.song,
    };
  }
  return applyUi(next, msg);
}

/** The UI's own lists: credentials, who chose the song, chat, activity, versions. */
function applyUi(s: SessionState, msg: ServerMsg): SessionState {
  switch (msg.type) {
    case 'credentials':
      return { ...s, credentials: { secret: msg.secret, pin: msg.pin ?? null, viewer: msg.viewer ?? null } };
    case 'song_changed':
      return { ...s, songBy: msg.by ?? null };
    case 'chat': {
      const m = msg.message;
      const search =
        s.search && s.search.results.some((x) => x.id === m.id)
          ? { ...s.search, results: m.deleted ? s.search.results.filter((x) => x.id !== m.id) : upsertById(s.search.results, [m]) }
          : s.search;
      return { ...s, chat: upsertById(s.chat, [m]), search };
    }
    case 'chat_history': {
      const [kind, ...rest] = s.chatRequests.length > 0 ? s.chatRequests : (['page'] as ChatRequest[]);
      if (kind === 'search' && s.search) {
        return {
          ...s,
          chatRequests: rest,
          search: { ...s.search, results: upsertById(s.search.results, msg.messages), more: msg.more, pending: false },
        };
      }
      // A page older than what we hold says whether still older ones remain; the newest page
      // (asked for after a welcome) says so only when we hold nothing older than it.
      const oldestHeld = s.chat.length > 0 ? s.chat[0].id : Infinity;
      const oldestGot = msg.messages.length > 0 ? msg.messages[0].id : Infinity;
      const chatMore = oldestGot <= oldestHeld || s.chatMore === null ? msg.more : s.chatMore;
      return { ...s, chatRequests: rest, chat: upsertById(s.chat, msg.messages), chatMore };
    }
    case 'activity':
      return { ...s, activity: upsertById(s.activity, [msg.event]) };
    case 'activity_history': {
      const oldestHeld = s.activity.length > 0 ? s.activity[0].id : Infinity;
      const oldestGot = msg.events.length > 0 ? msg.events[0].id : Infinity;
      const activityMore = oldestGot <= oldestHeld || s.activityMore === null ? msg.more : s.activityMore;
      return { ...s, activity: upsertById(s.activity, msg.events), activityMore };
    }
    case 'versions':
      return { ...s, versions: [...msg.versions].sort((a, b) => a.id - b.id) };
    case 'error': {
      // A refused history request gets no answer of its own: forget it, or the next answer
      // would land in the wrong list.
      if (msg.about !== 'chat_history' || s.chatRequests.length === 0) return s;
      const [kind, ...rest] = s.chatRequests;
      const search = kind === 'search' && s.search ? { ...s.search, pending: false } : s.search;
      return { ...s, chatRequests: rest, search };
    }
    default:
      return s;
  }
}

/** This member's participant entry. */
export function me(s: SessionState): Participant | undefined {
  return s.participants.find((p) => p.id === s.you);
}

/** Whether this member leads. */
export function isLeader(s: SessionState): boolean {
  return s.stats.leader === s.you;
}

/** Whether this member may edit the documents and chat. */
export function canEdit(s: SessionState): boolean {
  return me(s)?.access !== 'viewer';
}
