//! The chart of one song: a plain textarea bound to the song's Y.Text (doc/textbinding.ts), with
//! the other members' cursors, names and colours from awareness drawn around it (doc/cursors.ts),
//! or a read view with the chords above the lyrics, transposed for this reader only. Auto-scroll
//! follows the shared timeline while playing.

import { useEffect, useMemo, useRef, useState } from 'preact/hooks';
import type * as Y from 'yjs';
import { musicLineCount, parseChart, scrollFraction, transposeChord, transposeKey, keyPrefersFlats } from '../core/chart';
import { canEdit } from '../core/session';
import { ONE_BEAT, segmentAt, segmentPosition } from '../core/timeline';
import { clearCursor, CursorOverlay, publishCursor } from '../doc/cursors';
import { chartText, chartsOf } from '../doc/setlist';
import { TextBinding } from '../doc/textbinding';
import { useApp, useAppState } from './ctx';

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

/** Auto-scroll: keeps `el` at the part of the song the band is playing. */
function useAutoScroll(el: HTMLElement | null, text: () => string, enabled: boolean, barsPerLine: number) {
  const app = useApp();
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
      const f = scrollFraction(beats, musicLineCount(text()), barsPerLine, seg.meter.beats);
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

export function Chart() {
  const app = useApp();
  const viewSong = useAppState((s) => s.viewSong);
  const songs = useAppState((s) => s.songs);
  const session = useAppState((s) => s.session);
  const settings = useAppState((s) => s.settings);
  const presence = useAppState((s) => s.presence);
  const [mode, setMode] = useState<'edit' | 'read'>('edit');
  const song = songs.find((s) => s.id === viewSong) ?? null;
  const editable = session ? canEdit(session) : false;
  const readers = session
    ? session.participants.filter((p) => p.id !== session.you && presence.get(p.id) === viewSong && viewSong !== null)
    : [];

  const t = settings.transpose;
  const semis = ((t % 12) + 12) % 12;
  const transposeLabel = t === 0 ? 'as written' : `${t > 0 ? '+' : ''}${t}`;

  return (
    <section class="card chart-card" id="chart" aria-label="Chart" style={{ '--chart-font': `${settings.fontSize}px` }}>
      <div class="chart-head row wrap">
        <h2 class="grow">
          {song ? song.title : 'Chart'}
          {song?.key && (
            <span class="muted small">
              {' '}
              key {t === 0 ? song.key : `${transposeKey(song.key, t)} (written ${song.key})`}
            </span>
          )}
        </h2>
        {readers.length > 0 && (
          <span class="readers small" title="Also in this chart">
            {readers.map((p) => (
              <span key={p.id} class="reader" style={{ borderColor: p.color }}>
                {p.name}
              </span>
            ))}
          </span>
        )}
      </div>
      <div class="row wrap chart-tools">
        <div class="seg" role="group" aria-label="Mode">
          <button class={mode === 'edit' ? 'on' : ''} data-testid="chart-mode-edit" onClick={() => setMode('edit')}>
            {editable ? 'Edit' : 'Text'}
          </button>
          <button class={mode === 'read' ? 'on' : ''} data-testid="chart-mode-read" onClick={() => setMode('read')}>
            Read
          </button>
        </div>
        <span class="tool">
          <button class="square" aria-label="Smaller text" onClick={() => app.setSettings({ fontSize: Math.max(10, settings.fontSize - 2) })}>
            A−
          </button>
          <button class="square" aria-label="Larger text" onClick={() => app.setSettings({ fontSize: Math.min(48, settings.fontSize + 2) })}>
            A+
          </button>
        </span>
        <span class="tool">
          <button class="square" aria-label="Transpose down" data-testid="transpose-down" onClick={() => { app.setSettings({ transpose: Math.max(-11, t - 1) }); setMode('read'); }}>
            ♭
          </button>
          <span class="small" data-testid="transpose">{transposeLabel}</span>
          <button class="square" aria-label="Transpose up" data-testid="transpose-up" onClick={() => { app.setSettings({ transpose: Math.min(11, t + 1) }); setMode('read'); }}>
            ♯
          </button>
        </span>
        <label class="check">
          <input type="checkbox" data-testid="autoscroll" checked={settings.autoScroll} onChange={(e) => app.setSettings({ autoScroll: (e.target as HTMLInputElement).checked })} />
          auto-scroll
        </label>
        {settings.autoScroll && (
          <label class="field inline">
            <span>bars/line</span>
            <select value={settings.barsPerLine} onChange={(e) => app.setSettings({ barsPerLine: Number((e.target as HTMLSelectElement).value) })}>
              {[1, 2, 4, 8].map((n) => (
                <option key={n} value={n}>
                  {n}
                </option>
              ))}
            </select>
          </label>
        )}
      </div>
      {!song && <p class="muted">{songs.length ? 'Choose a song in the setlist.' : 'Add a song to the setlist to write its chart.'}</p>}
      {song && mode === 'edit' && <Editor key={song.id} songId={song.id} editable={editable} />}
      {song && mode === 'read' && <ReadView key={song.id} songId={song.id} semis={semis} flats={keyPrefersFlats(song.key ? transposeKey(song.key, t) : t < 0 ? 'F' : 'G')} />}
      {t !== 0 && mode === 'edit' && <p class="hint">Transposed {transposeLabel} in the read view only: the chart is stored as written.</p>}
    </section>
  );
}

function Editor(props: { songId: string; editable: boolean }) {
  const app = useApp();
  const settings = useAppState((s) => s.settings);
  const version = useChartVersion(props.songId);
  const area = useRef<HTMLTextAreaElement>(null);
  const layer = useRef<HTMLDivElement>(null);
  const [missing, setMissing] = useState(false);
  const [scroller, setScroller] = useState<HTMLTextAreaElement | null>(null);
  const refresh = useRef<() => void>(() => {});

  useEffect(() => {
    const docs = app.docs;
    const el = area.current;
    if (!docs || !el || !layer.current) return;
    // As an attribute: where `autocorrect` is a boolean property (Chrome), Preact would set it to
    // the string "off", which is true.
    el.setAttribute('autocorrect', 'off');
    // The song's creator made its text; an older document may lack one, made on first edit.
    const ytext = chartText(docs.doc, props.songId, props.editable);
    setMissing(!ytext);
    if (!ytext) return;
    const overlay = new CursorOverlay(el, layer.current, ytext, docs.awareness);
    const binding = new TextBinding(ytext, el, {
      readOnly: !props.editable,
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
  }, [props.songId, props.editable, app.docs, version]);

  useEffect(() => refresh.current(), [settings.fontSize]);

  useAutoScroll(scroller, () => area.current?.value ?? '', settings.autoScroll, settings.barsPerLine);

  return (
    <>
      {missing && <p class="muted">This song has no chart yet.</p>}
      <div class="editor" data-testid="chart-editor" hidden={missing}>
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
          readOnly={!props.editable}
        />
      </div>
    </>
  );
}

function ReadView(props: { songId: string; semis: number; flats: boolean }) {
  const app = useApp();
  const settings = useAppState((s) => s.settings);
  const [text, setText] = useState('');
  const [el, setEl] = useState<HTMLElement | null>(null);
  const version = useChartVersion(props.songId);
  useEffect(() => {
    const docs = app.docs;
    if (!docs) return;
    const ytext = chartText(docs.doc, props.songId, false);
    if (!ytext) {
      setText('');
      return;
    }
    const update = () => setText(ytext.toString());
    update();
    ytext.observe(update);
    return () => ytext.unobserve(update);
  }, [props.songId, app.docs, version]);
  const lines = useMemo(() => parseChart(text), [text]);
  useAutoScroll(el, () => text, settings.autoScroll, settings.barsPerLine);
  const chord = (c: string) => transposeChord(c, props.semis, props.flats);

  return (
    <div class="read-view" ref={setEl} data-testid="chart-read">
      {lines.length === 0 || text.trim() === '' ? <p class="muted">This chart is empty.</p> : null}
      {lines.map((l, i) => {
        switch (l.kind) {
          case 'title':
            return (
              <h3 key={i} class="rv-title">
                {l.text}
              </h3>
            );
          case 'comment':
            return (
              <p key={i} class="rv-comment">
                {l.text}
              </p>
            );
          case 'section':
            return (
              <p key={i} class={`rv-section ${l.chorus ? 'chorus' : ''}`}>
                {l.text}
              </p>
            );
          case 'blank':
            return <div key={i} class="rv-blank" />;
          case 'lyrics': {
            const hasChords = l.pairs.some((p) => p.chord !== null);
            // A line of chords alone (a vamp, an intro) gets no empty lyric row under it.
            const hasLyrics = l.pairs.some((p) => p.text.trim() !== '');
            return (
              <div key={i} class={`rv-line ${hasChords ? 'with-chords' : ''} ${hasLyrics ? '' : 'chords-only'}`}>
                {l.pairs.map((p, j) => (
                  <span key={j} class="rv-pair">
                    {hasChords && <span class="rv-chord">{p.chord !== null ? chord(p.chord) : '\u00a0'}</span>}
                    {hasLyrics && <span class="rv-lyric">{p.text || '\u00a0'}</span>}
                  </span>
                ))}
              </div>
            );
          }
        }
      })}
    </div>
  );
}
