//! Chat and activity history: asking the host for pages of what was said and done, searching the
//! chat, and loading all of it for an export.

import type { ClientMsg } from '../bindings';
import { apply, chatRequested, clearSearch } from '../core/session';
import type { AppCore } from '../state/appcore';

export function requestChat(app: AppCore, kind: 'page' | 'older' | 'search', query?: string): void {
  const s = app.state.session;
  if (!s) return;
  const before = kind === 'older' && s.chat.length > 0 ? s.chat[0].id : null;
  const msg: ClientMsg =
    kind === 'search' ? { type: 'chat_history', query: query ?? '', limit: 100 } : { type: 'chat_history', before, limit: 50 };
  // Recorded before it is sent, so that the answer always finds it.
  app.store.set({ session: chatRequested(s, kind === 'search' ? 'search' : 'page', query) });
  void app.send(msg, true).then((ok) => {
    const cur = app.state.session;
    if (!ok && cur) {
      app.store.set({ session: apply(cur, { type: 'error', code: 'internal', message: 'not sent', about: 'chat_history' }, null) });
    }
  });
}

export function closeSearch(app: AppCore): void {
  const s = app.state.session;
  if (s) app.store.set({ session: clearSearch(s) });
}

/** The whole chat as `format`, written by the host (`chat_export`: the CLI's export, the same
 * Rust). Gives up after 20 s. */
export function exportChat(app: AppCore, format: 'json' | 'csv' | 'txt'): Promise<string> {
  return new Promise((resolve, reject) => {
    const done = (err: Error | null, text = '') => {
      clearTimeout(timer);
      app.onChatExport = null;
      if (err) reject(err);
      else resolve(text);
    };
    const timer = setTimeout(() => done(new Error('the host did not send the export in time')), 20_000);
    app.onChatExport = (f, text) => f === format && done(null, text);
    void app.send({ type: 'chat_export', format }).then((ok) => ok || done(new Error('not connected')));
  });
}

export function requestOlderActivity(app: AppCore): void {
  const s = app.state.session;
  if (!s) return;
  const before = s.activity.length ? s.activity[0].id : null;
  void app.send((before !== null ? { type: 'activity_history', before, limit: 50 } : { type: 'activity_history', limit: 50 }));
}
