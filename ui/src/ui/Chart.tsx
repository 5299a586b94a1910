//! The chart of one song. Read by default: the chart as the Rust core renders it for this reader
//! (`renderChart`: transposed, under a capo, as numbers; `ChartRead.tsx`). Those who can edit may
//! switch to Edit: a plain textarea bound to the song's Y.Text (doc/textbinding.ts), with the
//! other members' cursors, names and colours from awareness drawn around it (doc/cursors.ts).
//! Auto-scroll follows the shared timeline while playing: to the section the band is in, for the
//! current song when it has a flow (`useFollow`), else in proportion to the bars played. A page
//! turner's keys scroll the read view a screen at a time (`usePageTurner`). The song goes out as a
//! ChordPro file (`doc/library.ts`) or to the printer (the read view alone: `styles/print.css`).
//! A follower's toolbar sits under the chart, so that the chart shows on the stage view's first
//! screen.

import { useEffect, useMemo, useRef, useState } from 'preact/hooks';
import type * as Y from 'yjs';
import type { ChartView } from '../bindings';
import { scrollFraction } from '../core/chart';
import { canEdit, isLeader } from '../core/session';
import { ONE_BEAT, segmentAt, segmentPosition } from '../core/timeline';
import { clearCursor, CursorOverlay, publishCursor } from '../doc/cursors';
import { exportSong } from '../doc/library';
import { chartText, chartsOf } from '../doc/setlist';
import { TextBinding } from '../doc/textbinding';
import { renderChart, warmChartRenderer } from '../wasm/api';
import { ChartRead } from './ChartRead';
import { ChartTools } from './ChartTools';
import { sameRows } from '../state/store';
import { lookOf } from '../state/personal';
import { download, useApp, useAppState } from './ctx';
import { usePageTurner } from './Pedal';
import { useFollow } from './SectionStrip';

const PLACEHOLDER = 'Write the chart here: [C]chords in brackets before the [G]syllable they fall on.';

/**
 * Fits the textarea to its text, up to its CSS max-height, keeping where it is scrolled. Its box
 * holds its height while the textarea is measured, so that the page does not jump.
 */
function autosize(el: HTMLTextAreaElement): void {
  const box = el.parentElement;
  if (box) box.style.minHeight = `${box.offsetHeight}px`;
  const top = el.scrollTop;
  el.style.height = 'auto';
  el.style.height = `${el.scrollHeight + el.offsetHeight - el.clientHeight}px`;
  el.scrollTop = top;
  if (box) box.style.minHeight = '';
}

/**
 * Auto-scroll: keeps `el` at the part of the song the band is playing, reckoning `lines` lines of
 * music of `barsPerLine` bars each.
 */
function useAutoScroll(el: HTMLElement | null, lines: number, enabled: boolean, barsPerLine: number) {
  const app = useApp();
  const music = useRef(lines);
  music.current = lines;
  useEffect(() => {
    if (!el || !enabled) return;
    let raf = 0;
    let lastTop = -1;
    const frame = () => {
      raf = requestAnimationFrame(frame);
      const tr = app.state.session?.transport;
      const host = app.backend?.hostNow();
      if (!tr || host === null || host === undefined) return;
      const seg = segmentAt(tr, Math.round(host));
      if (!seg.playing) return;
      const beats = (segmentPosition(seg, Math.round(host)) - seg.song_start) / ONE_BEAT;
      const f = scrollFraction(beats, music.current, barsPerLine, seg.meter.beats);
      const top = Math.round(f * Math.max(0, el.scrollHeight - el.clientHeight));
      if (Math.abs(top - lastTop) >= 1) {
        el.scrollTop = top;
        lastTop = top;
      }
    };
    raf = requestAnimationFrame(frame);
    return () => cancelAnimationFrame(raf);
  }, [el, enabled, barsPerLine]);
}

/** Changes when the song's Y.Text is created or replaced, so that views rebind to it. */
function useChartVersion(songId: string): number {
  const app = useApp();
  const [v, setV] = useState(0);
  useEffect(() => {
    const docs = app.docs;
    if (!docs) return;
    const charts = chartsOf(docs.doc);
    const onChange = (e: Y.YMapEvent<Y.Text>) => {
      if (e.keysChanged.has(songId)) setV((x) => x + 1);
    };
    charts.observe(onChange);
    return () => charts.unobserve(onChange);
  }, [songId, app.docs]);
  return v;
}

/** The song's chart text, kept current (empty while it has none), for the reader's `view`. */
function useChartText(songId: string | null, view: ChartView): string {
  const app = useApp();
  const viewing = useRef(view);
  viewing.current = view;
  const [text, setText] = useState('');
  const version = useChartVersion(songId ?? '');
  const opened = useRef<string | null>(null);
  useEffect(() => {
    const opening = opened.current !== songId;
    opened.current = songId;
    const ytext = app.docs && songId ? chartText(app.docs.doc, songId, false) : null;
    if (!ytext) {
      setText('');
      return;
    }
    // The song the reader opens, at once. A change to it (an edit, a new chart) not in the task
    // of the message that brought it: rendered in the core in the next task, then in the page in
    // the one after, queued first so that it comes whatever the core does (applying a long
    // chart's update and rendering it were one 9–19 ms task;
    // docs/BENCHMARKS.md). Not once this effect is done: the text of the song the reader left
    // must not come after the next one's.
    let live = true;
    const update = () => live && setText(ytext.toString());
    const later = () => setTimeout(() => live && (setTimeout(update), renderChart(ytext.toString(), viewing.current)));
    if (opening) update();
    else later();
    ytext.observe(later);
    return () => {
      live = false;
      ytext.unobserve(later);
    };
  }, [songId, app.docs, version]);
  return text;
}

/** One of each thing a read view shows, laid out out of sight as soon as the chart's card is:
 * the first layout in a font (the title's, the chords', a grid's) costs 5 ms more than the next,
 * which a chart's first part then paid inside the frame it was drawn in (docs/BENCHMARKS.md). One
 * element, made once: Preact skips it on every render after. */
const WARM = (
  <div class="read-view rv-warm" aria-hidden="true">
    <div class="rv">
      <h3 class="rv-title">Aa</h3>
      <p class="rv-subtitle">Aa</p>
      <p class="rv-comment italic">Aa</p>
      <div class="rv-section">
        <h4 class="rv-label">Aa</h4>
        <p class="rv-line">
          <span class="rv-pair">
            <span class="rv-chord">
              <i>A</i>m7<small class="rv-shape">x</small>
            </span>
            Aa
          </span>
        </p>
      </div>
      <pre class="rv-tab">e|-0-</pre>
      <div class="rv-grid">
        <div class="rv-row">
          <span class="rv-margin">A</span>
          <span class="rv-bar">|</span>
          <span>Am</span>
        </div>
      </div>
    </div>
  </div>
);

export function Chart() {
  const viewSong = useAppState((s) => s.viewSong);
  const songs = useAppState((s) => s.songs);
  const settings = useAppState((s) => s.settings);
  const editable = useAppState((s) => !!s.session && canEdit(s.session));
  const follows = useAppState((s) => !!s.session && !isLeader(s.session));
  // Who else is in this chart: a member's sync report, which leaves these as they were, does not
  // re-render the chart.
  const readers = useAppState((s): [number, string, string][] => {
    const se = s.session, v = s.viewSong;
    return se && v !== null ? se.participants.filter((p) => p.id !== se.you && s.presence.get(p.id) === v).map((p) => [p.id, p.name, p.color]) : [];
  }, sameRows);
  const [editing, setEditing] = useState(false);
  const [reader, setReader] = useState<HTMLDivElement | null>(null);
  const song = songs.find((s) => s.id === viewSong) ?? null;
  const edit = editable && editing;

  const { transpose, capo } = lookOf(settings, song?.id ?? null);
  const { notation } = settings;
  const key = song?.key || null;
  const view = { transpose, capo, notation, key };
  const text = useChartText(song?.id ?? null, view);
  const { rendered, music_lines } = useMemo(() => renderChart(text, view), [text, transpose, capo, notation, key]);
  // After the card is drawn, as its fonts are (WARM): the renderer's first call compiled its code.
  useEffect(() => {
    const t = setTimeout(() => warmChartRenderer(view), 0);
    return () => clearTimeout(t);
  }, []);
  const written = key ?? rendered.chart.meta.key;
  const flow = !!song?.flow.trim();
  useAutoScroll(reader, music_lines, settings.autoScroll && !edit && !flow, settings.barsPerLine);
  usePageTurner(reader);
  // The section the band is in, when this is the song it plays (changes once a section).
  const section = useFollow((f) => (f && f.song.id === song?.id ? (f.place?.section ?? null) : null), flow && !edit, song?.id, text);
  useEffect(() => {
    const el = section !== null && settings.autoScroll ? reader?.querySelector(`[data-section="${section}"]`) : null;
    if (!reader || !el) return;
    const top = reader.scrollTop + el.getBoundingClientRect().top - reader.getBoundingClientRect().top - 8;
    reader.scrollTo({ top, behavior: 'smooth' });
  }, [section, reader, settings.autoScroll]);

  // A follower's stage view reads first: the chart right under its title, its tools under it.
  const tools = <ChartTools editable={editable} editing={edit} setEditing={setEditing} song={song?.id ?? null} />;

  return (
    <section class="card chart-card" id="chart" aria-label="Chart" style={{ '--chart-font': `${settings.fontSize}px` }}>
      <div class="chart-head row wrap">
        <h2 class="grow">
          {song ? song.title : 'Chart'}
          {song && rendered.key && (
            <span class="muted small" data-testid="chart-key">
              {' '}
              key {rendered.key}
              {transpose !== 0 && written && ` (written ${written})`}
              {capo > 0 && rendered.shape_key && ` · capo ${capo}: ${rendered.shape_key} shapes`}
            </span>
          )}
        </h2>
        {readers.length > 0 && (
          <span class="readers small" title="Also in this chart">
            {readers.map(([id, name, color]) => (
              <span key={id} class="reader" style={{ borderColor: color }}>
                {name}
              </span>
            ))}
          </span>
        )}
        {song && (
          <button class="small-btn" data-testid="download-chart" onClick={() => download(`${song.title}.cho`, 'text/plain', exportSong(text, song))}>
            Download .cho
          </button>
        )}
        {song && !edit && (
          <button class="small-btn" data-testid="print-chart" onClick={() => print()}>
            Print
          </button>
        )}
      </div>
      {!follows && tools}
      {!song && <p class="muted">{songs.length ? 'Choose a song in the setlist.' : 'Add a song to the setlist to write its chart.'}</p>}
      {song && edit && <Editor key={song.id} songId={song.id} lines={music_lines} />}
      {song && !edit && (
        <ChartRead
          rendered={rendered}
          show={settings.chartShow}
          twoColumns={settings.twoColumns}
          scroller={setReader}
          song={song.id}
          current={section}
        />
      )}
      {follows && tools}
      {transpose !== 0 && edit && <p class="hint">Transposed in the read view only: the chart is stored as written.</p>}
      {WARM}
    </section>
  );
}

function Editor(props: { songId: string; lines: number }) {
  const app = useApp();
  const settings = useAppState((s) => s.settings);
  const version = useChartVersion(props.songId);
  const area = useRef<HTMLTextAreaElement>(null);
  const layer = useRef<HTMLDivElement>(null);
  const [scroller, setScroller] = useState<HTMLTextAreaElement | null>(null);
  const refresh = useRef<() => void>(() => {});

  useEffect(() => {
    const docs = app.docs;
    const el = area.current;
    if (!docs || !el || !layer.current) return;
    // As an attribute: where `autocorrect` is a boolean property (Chrome), Preact would set it to
    // the string "off", which is true.
    el.setAttribute('autocorrect', 'off');
    // The song's creator made its text; an older document may lack one, made here.
    const ytext = chartText(docs.doc, props.songId, true)!;
    const overlay = new CursorOverlay(el, layer.current, ytext, docs.awareness);
    const binding = new TextBinding(ytext, el, {
      onChange: () => {
        autosize(el);
        overlay.schedule();
      },
      onSelection: (anchor, head) => publishCursor(docs.awareness, ytext, anchor, head),
    });
    refresh.current = () => {
      autosize(el);
      overlay.schedule();
    };
    setScroller(el);
    return () => {
      binding.destroy();
      overlay.destroy();
      clearCursor(docs.awareness);
      refresh.current = () => {};
      setScroller(null);
    };
  }, [props.songId, app.docs, version]);

  useEffect(() => refresh.current(), [settings.fontSize]);

  useAutoScroll(scroller, props.lines, settings.autoScroll, settings.barsPerLine);

  return (
    <div class="editor" data-testid="chart-editor">
      <div class="editor-under" ref={layer} aria-hidden="true" />
      <textarea
        ref={area}
        data-testid="chart-text"
        aria-label="Chart"
        rows={1}
        placeholder={PLACEHOLDER}
        autocapitalize="off"
        autoComplete="off"
        spellcheck={false}
      />
    </div>
  );
}
