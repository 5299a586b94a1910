//! The chart's toolbar: Read or Edit (for those who can edit), text size, transpose, auto-scroll,
//! and a View panel for this reader's capo, chord notation, what to show and two columns. All
//! personal settings, never in the shared document; transpose and capo are the song's own. It
//! wraps; nothing runs off a phone screen.

import { BARS_PER_LINE, CAPO_MAX, TRANSPOSE_MAX, type Notation } from '../bindings';
import { lookChange, lookOf } from '../state/personal';
import type { Settings } from '../state/settings';
import { useApp, useAppState } from './ctx';

const NOTATIONS: [Notation, string][] = [
  ['letters', 'Letters'],
  ['nashville', 'Nashville'],
  ['roman', 'Roman'],
];
const SHOW: [Settings['chartShow'], string][] = [
  ['both', 'Chords + lyrics'],
  ['lyrics', 'Lyrics only'],
  ['chords', 'Chords only'],
];

function value(e: Event): string {
  return (e.target as HTMLSelectElement).value;
}

export function ChartTools(props: { editable: boolean; editing: boolean; setEditing: (on: boolean) => void; song: string | null }) {
  const app = useApp();
  const s = useAppState((x) => x.settings);
  const set = (patch: Partial<Settings>) => app.setSettings(patch);
  // Transpose and capo are this song's (the member's own for it).
  const look = lookOf(s, props.song);
  const t = look.transpose;
  // Transposing shows in the read view only.
  const transpose = (to: number) => {
    set(lookChange(s, props.song, { ...look, transpose: Math.max(-TRANSPOSE_MAX, Math.min(TRANSPOSE_MAX, to)) }));
    props.setEditing(false);
  };

  return (
    <div class="row wrap chart-tools">
      {props.editable && (
        <div class="seg" role="group" aria-label="Mode">
          <button class={props.editing ? '' : 'on'} data-testid="chart-mode-read" onClick={() => props.setEditing(false)}>
            Read
          </button>
          <button class={props.editing ? 'on' : ''} data-testid="chart-mode-edit" onClick={() => props.setEditing(true)}>
            Edit
          </button>
        </div>
      )}
      <span class="tool">
        <button class="square" aria-label="Smaller text" onClick={() => set({ fontSize: Math.max(10, s.fontSize - 2) })}>
          A−
        </button>
        <button class="square" aria-label="Larger text" onClick={() => set({ fontSize: Math.min(48, s.fontSize + 2) })}>
          A+
        </button>
      </span>
      <span class="tool">
        <button class="square" aria-label="Transpose down" data-testid="transpose-down" onClick={() => transpose(t - 1)}>
          ♭
        </button>
        <span class="small" data-testid="transpose">
          {t === 0 ? 'as written' : `${t > 0 ? '+' : ''}${t}`}
        </span>
        <button class="square" aria-label="Transpose up" data-testid="transpose-up" onClick={() => transpose(t + 1)}>
          ♯
        </button>
      </span>
      <label class="check">
        <input type="checkbox" data-testid="autoscroll" checked={s.autoScroll} onChange={(e) => set({ autoScroll: (e.target as HTMLInputElement).checked })} />
        auto-scroll
      </label>
      {s.autoScroll && (
        <select aria-label="Bars per line" value={s.barsPerLine} onChange={(e) => set({ barsPerLine: Number(value(e)) })}>
          {BARS_PER_LINE.map((n) => (
            <option key={n} value={n}>
              {n} bar{n > 1 ? 's' : ''}/line
            </option>
          ))}
        </select>
      )}
      <details class="chart-view" data-testid="chart-view">
        <summary>View</summary>
        <div class="row wrap">
          <select aria-label="Capo" data-testid="capo" value={look.capo} onChange={(e) => set(lookChange(s, props.song, { ...look, capo: Number(value(e)) }))}>
            {Array.from({ length: CAPO_MAX + 1 }, (_, n) => (
              <option key={n} value={n}>
                {n ? `capo ${n}` : 'no capo'}
              </option>
            ))}
          </select>
          <select aria-label="Chords as" data-testid="notation" value={s.notation} onChange={(e) => set({ notation: value(e) as Notation })}>
            {NOTATIONS.map(([v, label]) => (
              <option key={v} value={v}>
                {label}
              </option>
            ))}
          </select>
          <select aria-label="Show" data-testid="chart-show" value={s.chartShow} onChange={(e) => set({ chartShow: value(e) as Settings['chartShow'] })}>
            {SHOW.map(([v, label]) => (
              <option key={v} value={v}>
                {label}
              </option>
            ))}
          </select>
          <label class="check">
            <input type="checkbox" data-testid="two-columns" checked={s.twoColumns} onChange={(e) => set({ twoColumns: (e.target as HTMLInputElement).checked })} />
            two columns (wide screens)
          </label>
        </div>
      </details>
    </div>
  );
}
