//! Telling a member what concerns them: a chat message that mentions them (the host reads who a
//! message mentions, `crates/core/src/chat/mentions.rs`, and the message carries the ids), and a
//! change of their own role or access. Each raises the system's notification where the member
//! allowed it (the web Notification API), a vibration on a phone, and always a badge on the
//! chat link (and the tab's title) until the chat is looked at.

import type { ChatMessage, Participant } from '../bindings';
import type { AppCore } from '../state/appcore';
import { invoke } from '@tauri-apps/api/core';

/** Messages already notified (an edit or a reaction arrives as the same message again). */
const told = new Set<number>();

/** Whether the page may ask for notifications (and has not been answered yet). */
export const canAsk = (): boolean =>
  typeof Notification !== 'undefined' && Notification.permission === 'default' && !('__TAURI_INTERNALS__' in window);

/** Asks for permission (from a click: browsers ignore it otherwise). */
export function ask(app: AppCore): void {
  void Notification.requestPermission().then(() => app.store.set({}));
}

function raise(app: AppCore, title: string, body: string, tag: string): void {
  app.store.set((s) => ({ mentions: s.mentions + 1 }));
  globalThis.navigator?.vibrate?.(200);
  if (app.state.runtime === 'tauri') {
    // The desktop app: the system's own notification, through Tauri's notification plugin.
    void invoke('plugin:notification|notify', { options: { title, body } }).catch(() => {});
    return;
  }
  if (typeof Notification === 'undefined' || Notification.permission !== 'granted') return;
  try {
    new Notification(title, { body, tag });
  } catch {
    // Android's Chrome allows them only through a service worker: the badge stays.
  }
}

/** A chat message arrived (new, edited or reacted to). */
export function onChat(app: AppCore, m: ChatMessage, you: number): void {
  if (m.deleted || m.from === you || !m.mentions.includes(you) || told.has(m.id)) return;
  told.add(m.id);
  raise(app, `${m.name} mentioned you`, m.text, `chat-${m.id}`);
}

/** Our own participant changed: a new role or access is news. */
export function onSelf(app: AppCore, before: Participant | undefined, after: Participant): void {
  if (!before) return;
  const news =
    before.role !== after.role
      ? after.role === 'leader'
        ? 'You lead the band now'
        : 'You no longer lead the band'
      : before.access !== after.access
        ? after.access === 'viewer'
          ? 'You can only view now'
          : 'You can edit now'
        : null;
  if (news) raise(app, news, '', 'role');
}

/** The badge is seen: the chat was opened. */
export function seen(app: AppCore): void {
  if (app.state.mentions > 0) app.store.set({ mentions: 0 });
}
