//! Page turners and keyboards on the stage view: which key does what. A Bluetooth pedal sends
//! PageDown/PageUp, arrows or space; a musician may also teach it keys of their own (`learnKey`,
//! kept in the personal settings). Pure; `ui/Pedal.tsx` listens and acts.

/** Turn the chart's page forward or back (everyone); call the next song, start or stop (the leader). */
export type KeyAction = 'forward' | 'back' | 'next' | 'transport';

/** Keys a musician taught, by action (`KeyboardEvent.key`, letters in lower case). */
export type LearnedKeys = Partial<Record<KeyAction, string>>;

const DEFAULT_KEYS: Record<string, KeyAction | undefined> = {
  PageDown: 'forward',
  ArrowDown: 'forward',
  ArrowRight: 'forward',
  ' ': 'forward',
  PageUp: 'back',
  ArrowUp: 'back',
  ArrowLeft: 'back',
  n: 'next',
  s: 'transport',
};

const norm = (key: string) => (key.length === 1 ? key.toLowerCase() : key);

/** What `key` does for this member (`leading`: the leader); a taught key first. */
export function keyAction(key: string, leading: boolean, learned: LearnedKeys): KeyAction | null {
  const k = norm(key);
  const a = (Object.keys(learned) as KeyAction[]).find((x) => learned[x] === k) ?? DEFAULT_KEYS[k] ?? null;
  return leading || a === 'forward' || a === 'back' ? a : null;
}

/** `learned` with `key` taught to `action` (and to no other); Escape forgets the action's key. */
export function learnKey(learned: LearnedKeys, action: KeyAction, key: string): LearnedKeys {
  const k = norm(key);
  const out: LearnedKeys = {};
  for (const [a, v] of Object.entries(learned) as [KeyAction, string][]) if (v !== k && a !== action) out[a] = v;
  if (k !== 'Escape') out[action] = k;
  return out;
}
