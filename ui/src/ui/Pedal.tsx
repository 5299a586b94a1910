//! Page turners on the stage view: the keys a pedal or keyboard sends turn the chart's page (and,
//! for the leader, call the next song, start and stop; `core/keys.ts` says which key does what),
//! and the settings where a musician teaches the pedal's keys. Not while typing, nor with
//! Ctrl, Alt or Meta held.

import { useEffect, useState } from 'preact/hooks';
import { type KeyAction, keyAction, learnKey } from '../core/keys';
import { isLeader } from '../core/session';
import { latest } from '../core/timeline';
import { useApp, useAppState } from './ctx';

/** Listens for page-turner keys while mounted; `reader` is the chart's read view. */
export function usePageTurner(reader: HTMLElement | null) {
  const app = useApp();
  useEffect(() => {
    const down = (e: KeyboardEvent) => {
      const t = e.target as HTMLElement;
      const s = app.state.session;
      if (!s || e.defaultPrevented || e.ctrlKey || e.altKey || e.metaKey || t.isContentEditable || t.closest('input,textarea,select,[role=dialog]')) return;
      const a = keyAction(e.key, isLeader(s), app.state.settings.keys);
      if (!a) return;
      e.preventDefault();
      if (a === 'forward' || a === 'back') {
        // The read view when it scrolls, else the page: a screen less two lines.
        const el = reader && reader.scrollHeight > reader.clientHeight ? reader : document.scrollingElement!;
        const line = parseFloat(getComputedStyle(reader ?? document.body).lineHeight) || 24;
        el.scrollBy(0, (a === 'back' ? -1 : 1) * (el.clientHeight - 2 * line));
      } else if (!e.repeat) {
        if (a === 'next') app.nextSong();
        else app.transport(!latest(s.transport).playing);
      }
    };
    addEventListener('keydown', down);
    return () => removeEventListener('keydown', down);
  }, [reader]);
}

const ACTIONS = { forward: 'Forward', back: 'Back', next: 'Next song', transport: 'Start/stop' };

/** Teaching the pedal: tap an action, then press the pedal (Escape forgets the action's key). */
export function PedalSettings() {
  const app = useApp();
  const keys = useAppState((x) => x.settings.keys);
  const [learning, setLearning] = useState<KeyAction | null>(null);
  useEffect(() => {
    if (!learning) return;
    const down = (e: KeyboardEvent) => {
      e.preventDefault();
      e.stopPropagation();
      app.setSettings({ keys: learnKey(keys, learning, e.key) });
      setLearning(null);
    };
    addEventListener('keydown', down, true);
    return () => removeEventListener('keydown', down, true);
  }, [learning]);
  return (
    <div class="settings-group">
      <h3>Page turner keys</h3>
      <p class="hint">Arrows, PageUp/Down, space: turn the chart. Leader: N next song, S start/stop. To teach a pedal, tap, then press it (Esc: none).</p>
      {(Object.entries(ACTIONS) as [KeyAction, string][]).map(([a, label]) => (
        <button key={a} class="small-btn" aria-pressed={learning === a} onClick={() => setLearning(learning === a ? null : a)}>
          {label}: {learning === a ? 'press it' : (keys[a] ?? '–')}
        </button>
      ))}
    </div>
  );
}
