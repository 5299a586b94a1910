import { afterEach, describe, expect, it, vi } from 'vitest';
import type { ChatMessage, Participant } from '../bindings';
import type { AppCore } from '../state/appcore';
import type { AppState } from '../state/appstate';
import { Store } from '../state/store';
import { onChat, onSelf, seen } from './notify';

const appWith = () => {
  const store = new Store({ mentions: 0 } as Partial<AppState> as AppState);
  return { store, get state() { return store.get(); } } as unknown as AppCore;
};

const msg = (id: number, from: number, mentions: number[], deleted = false): ChatMessage => ({
  id, from, name: 'Ben', text: '@Ana count us in', at: 0, edited_at: null, deleted, reply_to: null, reactions: [], mentions,
});

const me = (role: Participant['role'], access: Participant['access']) =>
  ({ id: 1, name: 'Ana', instrument: null, role, access, connection: 'online', color: '#fff', sync: null, joined_at: 0 }) as Participant;

describe('what concerns this member', () => {
  afterEach(() => vi.unstubAllGlobals());

  it('a mention raises one notification and a badge, however often the message comes back', () => {
    const shown: [string, NotificationOptions | undefined][] = [];
    class Granted {
      static permission = 'granted';
      constructor(title: string, opts?: NotificationOptions) {
        shown.push([title, opts]);
      }
    }
    vi.stubGlobal('Notification', Granted);
    const app = appWith();
    onChat(app, msg(101, 2, [1]), 1);
    onChat(app, msg(101, 2, [1]), 1); // a reaction: the same message again
    expect(shown).toEqual([['Ben mentioned you', { body: '@Ana count us in', tag: 'chat-101' }]]);
    expect(app.state.mentions).toBe(1);
    onChat(app, msg(102, 2, [3]), 1); // someone else
    onChat(app, msg(103, 1, [1]), 1); // our own
    onChat(app, msg(104, 2, [1], true), 1); // deleted
    expect(app.state.mentions).toBe(1);
    seen(app);
    expect(app.state.mentions).toBe(0);
  });

  it('without permission, the badge alone', () => {
    vi.stubGlobal('Notification', class { static permission = 'default'; constructor() { throw new Error('not allowed'); } });
    const app = appWith();
    onChat(app, msg(201, 2, [1]), 1);
    expect(app.state.mentions).toBe(1);
  });

  it('a new role or access is news; the rest of a participant update is not', () => {
    const app = appWith();
    onSelf(app, me('follower', 'editor'), { ...me('follower', 'editor'), name: 'Ana B' });
    expect(app.state.mentions).toBe(0);
    onSelf(app, me('follower', 'editor'), me('leader', 'editor'));
    onSelf(app, me('leader', 'editor'), me('follower', 'viewer'));
    expect(app.state.mentions).toBe(2);
  });
});
