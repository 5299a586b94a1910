//! The read view of a chart, as the Rust core rendered it for this reader (`renderChart`): chords
//! above their syllables, sections as blocks (`data-section`; the one the band is in is `current`),
//! comments, tab and grid blocks that scroll sideways. Personal settings choose lyrics alone
//! (singers), chords alone (players) and two columns on wide screens.

import { type ComponentChildren, Fragment, type Ref } from 'preact';
import { useCallback, useEffect, useMemo, useRef, useState } from 'preact/hooks';
import type { ChartCell, ChartLine, ChartPair, RenderedChart } from '../bindings';
import { type ChartBlock, chartBlocks, chartParts } from '../core/chart';
import type { Settings } from '../state/settings';

type Show = Settings['chartShow'];

/** A chord as the reader plays it, its shape under the capo after it; `*text` is a note. */
function Chord(props: { chord: string; shape?: string | undefined }) {
  const c = props.chord;
  return (
    <span class="rv-chord">
      {c.startsWith('*') ? <i>{c.slice(1)}</i> : c}
      {props.shape && <small class="rv-shape">{props.shape}</small>}
    </span>
  );
}

/**
 * A lyric line. Each chord and the start of its syllable (up to the first space) are one unit
 * that wraps as a whole; the rest of the words flow. A line of chords alone has no lyric row.
 */
function Lyrics(props: { pairs: ChartPair[]; show: Show }) {
  const chords = props.pairs.filter((p) => p.chord !== null);
  const text = props.pairs.map((p) => p.text).join('');
  const words = text.trim() !== '';
  if (props.show === 'lyrics' || !chords.length) return words && props.show !== 'chords' ? <p class="rv-line">{text}</p> : null;
  if (props.show === 'chords' || !words) {
    return (
      <p class="rv-line chords-only">
        {chords.map((p, i) => (
          <Chord key={i} chord={p.chord!} shape={p.shape} />
        ))}
      </p>
    );
  }
  return (
    <p class="rv-line">
      {props.pairs.map((p, i) => {
        if (p.chord === null) return p.text;
        const [, head, rest] = /^(\S*\s?)([^]*)$/.exec(p.text)!;
        // No element more than these: a line's layout costs by the objects in it.
        return (
          <Fragment key={i}>
            <span class="rv-pair">
              <Chord chord={p.chord} shape={p.shape} />
              {head || '\u00a0'}
            </span>
            {rest}
          </Fragment>
        );
      })}
    </p>
  );
}

function Cell(props: { cell: ChartCell }) {
  const c = props.cell;
  if (c.cell === 'chord') return <Chord chord={c.chord} shape={c.shape} />;
  if (c.cell === 'margin') return <span class="rv-margin">{c.text}</span>;
  return <span class={c.cell === 'bar' ? 'rv-bar' : undefined}>{c.cell === 'empty' ? '.' : c.symbol}</span>;
}

function Line(props: { line: ChartLine; show: Show }) {
  const l = props.line;
  switch (l.kind) {
    case 'title':
      return <h3 class="rv-title">{l.text}</h3>;
    case 'subtitle':
      return <p class="rv-subtitle">{l.text}</p>;
    case 'comment':
      return <p class={`rv-comment ${l.style}`}>{l.text}</p>;
    case 'lyrics':
      return <Lyrics pairs={l.pairs} show={props.show} />;
    case 'blank':
      return <div class="rv-blank" />;
    default:
      return null;
  }
}

function Blocks(props: { blocks: ChartBlock[]; show: Show; current?: number | null }): ComponentChildren {
  const { show } = props;
  return props.blocks.map((b, i) => {
    // Singers need neither tab nor chord grids.
    if (show === 'lyrics' && (b.kind === 'tab' || b.kind === 'grid')) return null;
    switch (b.kind) {
      case 'line':
        return <Line key={i} line={b.line} show={show} />;
      case 'tab':
        return (
          <pre key={i} class="rv-tab">
            {b.lines.join('\n')}
          </pre>
        );
      case 'grid':
        return (
          <div key={i} class="rv-grid">
            {b.rows.map((row, j) => (
              <div key={j} class="rv-row">
                {row.map((c, k) => (
                  <Cell key={k} cell={c} />
                ))}
              </div>
            ))}
          </div>
        );
      case 'section': {
        const { section, label, recall } = b.head;
        if (show === 'lyrics' && (section === 'tab' || section === 'grid')) return null;
        return (
          <div key={i} class={`rv-section ${section}${recall ? ' recall' : ''}${b.index === props.current ? ' current' : ''}`} data-section={b.index}>
            <h4 class="rv-label">{recall ? `${label} (repeat)` : label}</h4>
            <Blocks blocks={b.blocks} show={show} />
          </div>
        );
      }
    }
  });
}

/** The lines of a long chart the read view renders first (its first line or section), then in each
 * frame after (whole sections: about one a frame). A frame costs 3–4 ms whatever it adds, and its
 * layout about 0.2 ms a line, 5 ms more for the first lines a page lays out in a new font (the
 * title, the grid's): parts of 30 lines made 7–11 ms frames, parts of 5 make 4–8
 * (docs/BENCHMARKS.md). The whole of a 300-line chart takes 0.6 s to arrive instead of 0.2, all
 * of it below the screen. */
const FIRST_LINES = 1;
const PART_LINES = 5;

export function ChartRead(props: {
  rendered: RenderedChart;
  show: Show;
  twoColumns: boolean;
  scroller: Ref<HTMLDivElement>;
  /** The song, which a new chart belongs to when it changes. */
  song?: string | null;
  /** The section the band is in (`data-section`), highlighted. */
  current?: number | null;
}) {
  const blocks = useMemo(() => chartBlocks(props.rendered.chart.lines), [props.rendered]);
  const parts = useMemo(() => chartParts(blocks, FIRST_LINES, PART_LINES), [blocks]);
  const empty = !props.rendered.chart.lines.some((l) => l.kind !== 'blank');
  // A chart the reader starts (the view opened, another song, a chart where there was none), seen
  // from its top, comes in parts: none in this task (which rendered the chart in the core), then
  // one part in each frame, so that no one task lays out the whole chart (a 50–90 ms task for 300
  // lines on the benchmark's phone). Another version of the chart the reader is in (an edit)
  // replaces it whole, as do two columns (the columns would reflow with each part).
  const view = useRef<HTMLDivElement | null>(null);
  const shown = useRef<{ parts: ChartBlock[][]; song: string | null | undefined; n: number } | null>(null);
  const [, grown] = useState(0);
  if (shown.current?.parts !== parts) {
    const before = shown.current;
    const fresh = !before || before.song !== props.song || (before.parts.length === 1 && !before.parts[0]!.length);
    const top = !view.current || view.current.scrollTop === 0;
    shown.current = { parts, song: props.song, n: fresh && top && !props.twoColumns ? 0 : parts.length };
  }
  // The band in a section not drawn yet (a song started mid-way, a jump while the parts arrive):
  // the rest comes at once, so that the follow scroll finds it in this frame with the lines under
  // it (in the first part, the scroll stays at the top and the parts come as they would).
  const cur = props.current;
  const at = cur == null ? -1 : parts.findIndex((p) => p.some((b) => b.kind === 'section' && b.index === cur));
  if (at >= shown.current.n) shown.current.n = at ? parts.length : 1;
  const n = shown.current.n;
  // Effects run after the frame is drawn: one part a frame.
  useEffect(() => {
    const s = shown.current;
    if (s && s.parts === parts && s.n < parts.length) {
      s.n += 1;
      grown((x) => x + 1);
    }
  }, [parts, n]);
  // The same elements while the chart, the view and the section stay: the chart's view
  // re-renders with the session (every second or so), and Preact then skips the lines instead of
  // diffing every one of them (the frame-time benchmark's once-a-second 6–18 ms task); a part
  // added skips those already there.
  const body = useMemo(
    () => parts.map((p, k) => <Blocks key={k} blocks={p} show={props.show} current={props.current} />),
    [parts, props.show, props.current],
  );
  const scroller = props.scroller;
  const ref = useCallback(
    (el: HTMLDivElement | null) => {
      view.current = el;
      if (typeof scroller === 'function') scroller(el);
      else if (scroller) scroller.current = el;
    },
    [scroller],
  );
  return (
    <div class="read-view" ref={ref} data-testid="chart-read">
      {empty && <p class="muted">This chart is empty.</p>}
      <div class={props.twoColumns ? 'rv two-col' : 'rv'}>{body.slice(0, n)}</div>
    </div>
  );
}
