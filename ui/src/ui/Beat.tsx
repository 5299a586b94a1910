//! The big visual beat. A requestAnimationFrame loop reads host time through the clock estimate
//! and updates the DOM directly (no re-render per frame): the current beat in the bar, the bar
//! number, the count-in. In the Tauri app it shows the beats the audio engine sends, at the
//! moment they sound; without them it follows the transport, like the browser.

import { useEffect, useRef, useState } from 'preact/hooks';
import type { Accent, Meter, Transport } from '../bindings';
import { beatBadge } from '../core/labels';
import { beatPosition, formatMeter, latest } from '../core/timeline';
import { bpmText, ms, useApp, useAppState } from './ctx';

interface Shown {
  beat: number;
  bar: number;
  playing: boolean;
  countIn: boolean;
  countInLeft: number;
  meter: Meter;
  /** How each beat of the bar is accented (from the core). */
  accents: Accent[];
  tempo: number;
}

const sameMeter = (a: Meter, b: Meter) => a.beats === b.beats && a.unit === b.unit && a.groups.join() === b.groups.join();

/** The frame's time and what it shows. */
let seen: [number, Shown | null] = [-1, null];

/**
 * Calls `draw` on every animation frame with what to show now (while there is a transport), and
 * returns the transport. `draw` may change from render to render; the loop runs once.
 */
function useFrames(draw: (shown: Shown) => void): Transport | null {
  const app = useApp();
  const transport = useAppState((s) => s.session?.transport ?? null);
  const runtime = useAppState((s) => s.runtime);
  const trRef = useRef(transport);
  trRef.current = transport;
  const drawRef = useRef(draw);
  drawRef.current = draw;
  useEffect(() => {
    let raf = requestAnimationFrame(function frame(t) {
      raf = requestAnimationFrame(frame);
      // Worked out once a frame for every loop (the big beat's and the top bar's).
      if (seen[0] !== t) seen = [t, trRef.current && current(app, trRef.current, runtime)];
      if (seen[1]) drawRef.current(seen[1]);
    });
    return () => cancelAnimationFrame(raf);
  }, [app, runtime]);
  return transport;
}

export function BeatView() {
  const app = useApp();
  // The sync note as shown: a clock report that leaves it as it was renders nothing.
  const synced = useAppState((s) => !!s.clock?.synced);
  const syncText = useAppState((s) => (s.clock ? `${s.clock.synced ? 'synced' : 'syncing…'} ±${ms(s.clock.error_us)}` : 'no clock yet'));
  const pendingRef = useRef<HTMLDivElement>(null);
  const flash = useAppState((s) => s.settings.flash);
  const rootRef = useRef<HTMLDivElement>(null);
  const bigRef = useRef<HTMLDivElement>(null);
  const barRef = useRef<HTMLSpanElement>(null);
  const labelRef = useRef<HTMLSpanElement>(null);
  const cellsRef = useRef<HTMLDivElement>(null);
  const [meter, setMeter] = useState<Meter | null>(null);
  const [accents, setAccents] = useState<Accent[]>([]);
  const [tempo, setTempo] = useState<number | null>(null);
  const meterRef = useRef<Meter | null>(null);
  const tempoRef = useRef<number | null>(null);
  const lastRef = useRef('');

  const transport = useFrames((shown) => {
    const root = rootRef.current;
    if (!root) return;
    // The change announced has landed: its note goes, without a render.
    const note = pendingRef.current;
    if (note && !note.hidden && (app.backend?.hostNow() ?? -Infinity) >= Number(note.dataset.at)) note.hidden = true;
    if (!meterRef.current || !sameMeter(meterRef.current, shown.meter)) {
      meterRef.current = shown.meter;
      setMeter(shown.meter);
      setAccents(shown.accents);
    }
    if (tempoRef.current !== shown.tempo) {
      tempoRef.current = shown.tempo;
      setTempo(shown.tempo);
    }
    const key = `${shown.playing}|${shown.bar}|${shown.beat}|${shown.countIn}`;
    if (key === lastRef.current) return;
    lastRef.current = key;
    root.dataset.beat = String(shown.beat);
    root.dataset.bar = String(shown.bar);
    root.dataset.playing = String(shown.playing);
    root.dataset.countIn = String(shown.countIn);
    const accent = shown.playing ? (shown.accents[shown.beat] ?? 'beat') : 'none';
    root.dataset.accent = accent;
    if (bigRef.current) bigRef.current.textContent = shown.playing ? String(shown.beat + 1) : '–';
    if (barRef.current) {
      barRef.current.textContent = shown.countIn
        ? shown.countInLeft <= 1
          ? 'count-in · last bar'
          : `count-in · ${shown.countInLeft} bars`
        : shown.playing || shown.bar > 0
          ? `bar ${shown.bar + 1}`
          : 'stopped';
    }
    if (labelRef.current) labelRef.current.textContent = shown.playing ? (shown.countIn ? 'Count-in' : 'Playing') : 'Stopped';
    const cells = cellsRef.current?.children;
    if (cells) {
      for (let i = 0; i < cells.length; i++) cells[i].classList.toggle('on', shown.playing && i === shown.beat);
    }
    if (flash && shown.playing && shown.beat === 0) {
      root.classList.remove('flash');
      void root.offsetWidth; // restart the animation
      root.classList.add('flash');
    }
  });

  const pending = transport && transport.segments.length > 1 ? latest(transport) : null;
  const now = app.backend?.hostNow() ?? null;
  const pendingText =
    pending && now !== null && pending.at > now
      ? `${pending.playing ? '' : 'stop · '}${bpmText(pending.timeline.tempo)} BPM ${formatMeter(pending.meter)} on the next bar`
      : null;

  return (
    <section class="beat-panel" aria-label="Beat">
      <div ref={rootRef} class="beat" data-testid="beat" data-beat="0" data-bar="0" data-playing="false">
        <div class="beat-top">
          <span ref={labelRef} class="beat-state">
            Stopped
          </span>
          <span class="beat-tempo" data-testid="tempo-display">
            {tempo !== null ? `${bpmText(tempo)} BPM` : ''} {meter ? formatMeter(meter) : ''}
          </span>
        </div>
        <div ref={bigRef} class="beat-big" aria-live="off">
          –
        </div>
        <div ref={cellsRef} class="beat-cells">
          {meter &&
            Array.from({ length: meter.beats }, (_, i) => {
              const a = accents[i] ?? 'beat';
              return <span key={i} class={`cell ${a}`} />;
            })}
        </div>
        <div class="beat-bottom">
          <span ref={barRef} class="beat-bar">
            stopped
          </span>
          <span class={`sync ${synced ? 'ok' : 'warn'}`} data-testid="sync-state">
            {syncText}
          </span>
        </div>
        {pendingText && (
          <div key={pending!.at} ref={pendingRef} class="beat-pending" data-at={pending!.at}>
            → {pendingText}
          </div>
        )}
      </div>
    </section>
  );
}

/** What to show now: from the engine's beats (Tauri) when they flow, else from the transport. */
export function current(app: ReturnType<typeof useApp>, tr: Transport, runtime: string): Shown | null {
  const b = app.backend;
  if (!b) return null;
  const host = b.hostNow();
  const perfNow = performance.now();
  const p = beatPosition(tr, host === null ? tr.segments[0].at : Math.round(host));
  if (runtime === 'tauri' && app.beats.length > 0) {
    // The newest beat (not a subdivision) that has sounded.
    let hit = null;
    for (let i = app.beats.length - 1; i >= 0; i--) {
      const e = app.beats[i];
      if (e.subdivision) continue;
      const at = b.hostToPerf(e.at) ?? e.arrivedPerf + e.lead / 1000;
      if (at <= perfNow) {
        hit = { e, at };
        break;
      }
    }
    const beatMs = 60_000_000 / p.tempo;
    if (hit && perfNow - hit.at < beatMs * 2 + 50) {
      return {
        beat: hit.e.beat,
        bar: hit.e.bar,
        playing: true,
        countIn: hit.e.countIn,
        countInLeft: hit.e.countIn ? -hit.e.bar : 0,
        meter: p.meter,
        accents: p.accents,
        tempo: p.tempo,
      };
    }
  }
  return {
    beat: host === null ? 0 : p.beat,
    bar: host === null ? 0 : p.bar,
    playing: host !== null && p.playing,
    countIn: host !== null && p.count_in,
    countInLeft: p.count_in_bars_left,
    meter: p.meter,
    accents: p.accents,
    tempo: p.tempo,
  };
}

/** A small beat for the top bar, so the beat stays in sight while reading a chart. */
export function MiniBeat() {
  const ref = useRef<HTMLSpanElement>(null);
  useFrames((s) => {
    const el = ref.current;
    const text = beatBadge(s);
    if (!el || text === el.textContent) return;
    el.textContent = text;
    el.title = text.replace('\n', ' · ');
    el.dataset.accent = s.playing ? (s.accents[s.beat] ?? 'beat') : 'none';
  });
  return <span ref={ref} class="mini-beat" aria-hidden="true" />;
}
