//! Where the band is in the current song: its title, the part (from the song's flow, on the shared
//! bar) and the bar in it, and the part that comes next. `useFollow` is how the views follow the
//! flow: the transport is read every frame, but the part is asked for (and the view re-rendered)
//! only when the bar, the song or the chart changes.

import { useEffect, useRef, useState } from 'preact/hooks';
import { follow, type Following } from '../core/follow';
import type { Song } from '../doc/setlist';
import { isLeader } from '../core/session';
import { transportAt } from '../wasm/api';
import { flowStart } from '../wasm/flow';
import { useApp, useAppState } from './ctx';

/** `pick` of where the current song's flow stands (`follow`), while `on`. `chartId`'s `text`
 *  names the chart sections. */
export function useFollow<T>(pick: (f: Following | null) => T, on: boolean, chartId?: string | null, text?: string): T {
  const app = useApp();
  const [value, setValue] = useState<T>(() => pick(null));
  const picker = useRef(pick);
  picker.current = pick;
  useEffect(() => {
    let raf = 0;
    let key: string | null = null;
    let songs: readonly Song[] | null = null;
    const frame = () => {
      raf = requestAnimationFrame(frame);
      const st = app.state;
      const host = app.backend?.hostNow();
      const tr = st.session?.transport;
      const p = tr && host !== null && host !== undefined ? transportAt(tr, Math.round(host)) : null;
      const k = p?.playing ? `${p.bar}|${p.segment.at}|${p.segment.song?.id ?? st.session?.song}` : '';
      if (k === key && st.songs === songs) return;
      key = k;
      songs = st.songs;
      const f =
        p && tr ? follow(tr, Math.round(host!), p, st.session?.song ?? null, st.songs, chartId ? { id: chartId, text: text ?? '' } : undefined) : null;
      const v = picker.current(f);
      setValue(() => v);
    };
    if (on) raf = requestAnimationFrame(frame);
    else setValue(() => picker.current(null));
    return () => cancelAnimationFrame(raf);
  }, [app, on, chartId, text]);
  return value;
}

export function SectionStrip() {
  const app = useApp();
  const leads = useAppState((st) => !!st.session && isLeader(st.session));
  // Only while a song with a flow is current: otherwise no frame loop at all (the page's main
  // thread also feeds the click engine).
  const hasFlow = useAppState((st) => st.songs.some((x) => x.id === st.session?.song && x.flow.trim() !== ''));
  const f = useFollow((x) => x, hasFlow);
  if (!f) return null;
  const p = f.place;
  // The leader's moves land on the next bar line, like every change (PROTOCOL §4.20).
  const move = (bar: number | null, vamp = false) => void app.send({ type: 'flow', bar, vamp });
  const next = p ? flowStart(f.song.flow, p.index + 1) : null;
  return (
    <div class="card section-strip">
      <b>{f.song.title}</b>
      <strong data-testid="section-now">{p ? p.name : f.bar < 0 ? 'count-in' : 'end'}</strong>
      {p && `bar ${p.bar + 1}/${p.bars}${p.vamping ? ' (vamp)' : ''}`}
      <span class="muted" data-testid="section-next">
        {p && `next: ${p.next ?? 'end'}`}
      </span>
      {leads && p && (
        <span class="row wrap flow-moves">
          <button data-testid="flow-repeat" title="Play this part again from its first bar" onClick={() => move(flowStart(f.song.flow, p.index))}>
            ↺ {p.name}
          </button>
          {p.vamping ? (
            <button data-testid="flow-go-on" title="End the vamp: on to the next part" onClick={() => move(next ?? flowStart(f.song.flow, p.index))}>
              Go on ▶
            </button>
          ) : (
            <button data-testid="flow-vamp" title="Repeat this part until you go on" onClick={() => move(null, true)}>
              Vamp
            </button>
          )}
          {next !== null && !p.vamping && (
            <button data-testid="flow-next" title="Skip to the next part" onClick={() => move(next)}>
              {p.next} ▶
            </button>
          )}
        </span>
      )}
    </div>
  );
}
