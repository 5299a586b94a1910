//! Chord charts in the read view. The chart itself is read and written for the reader by the
//! Rust core (`chart.render`, `renderChart` in `wasm/api.ts`); here is only how its lines are laid
//! out (sections as blocks, runs of tab and grid lines kept together) and where auto-scroll is.

import type { ChartCell, ChartLine } from '../bindings';

/** A section's opening line. */
export type ChartSectionLine = Extract<ChartLine, { kind: 'section' }>;

/** What the read view draws: a line, a run of tab lines or of grid rows, or a whole section. */
export type ChartBlock =
  | { kind: 'line'; line: ChartLine }
  | { kind: 'tab'; lines: string[] }
  | { kind: 'grid'; rows: ChartCell[][] }
  | { kind: 'section'; head: ChartSectionLine; index: number; blocks: ChartBlock[] };

/**
 * A rendered chart's lines as blocks: each section (up to its end) with its lines inside it,
 * numbered in order, and consecutive tab lines or grid rows as one block, so that they scroll
 * sideways together.
 */
export function chartBlocks(lines: readonly ChartLine[]): ChartBlock[] {
  const top: ChartBlock[] = [];
  let into = top;
  let sections = 0;
  for (const line of lines) {
    const last = into[into.length - 1];
    if (line.kind === 'section') {
      const section: ChartBlock = { kind: 'section', head: line, index: sections++, blocks: [] };
      top.push(section);
      into = section.blocks;
    } else if (line.kind === 'end') {
      into = top;
    } else if (line.kind === 'tab') {
      if (last?.kind === 'tab') last.lines.push(line.text);
      else into.push({ kind: 'tab', lines: [line.text] });
    } else if (line.kind === 'grid') {
      if (last?.kind === 'grid') last.rows.push(line.cells);
      else into.push({ kind: 'grid', rows: [line.cells] });
    } else {
      into.push({ kind: 'line', line });
    }
  }
  return top;
}

/**
 * Where auto-scroll should be, 0 to 1: beats since the song start against the estimated song
 * length (`lines × barsPerLine` bars of `beatsPerBar`). Count-in and before-start give 0.
 */
export function scrollFraction(beatsSinceStart: number, lines: number, barsPerLine: number, beatsPerBar: number): number {
  const total = lines * barsPerLine * beatsPerBar;
  if (!(total > 0) || !(beatsSinceStart > 0)) return 0;
  return Math.min(1, beatsSinceStart / total);
}

/** How many lines the read view shows for `blocks`, about (a section's label is one). */
function shownLines(blocks: readonly ChartBlock[]): number {
  let n = 0;
  for (const b of blocks) {
    if (b.kind === 'line') n += 1;
    else if (b.kind === 'tab') n += b.lines.length;
    else if (b.kind === 'grid') n += b.rows.length;
    else n += 1 + shownLines(b.blocks);
  }
  return n;
}

/**
 * A chart's blocks in parts (whole sections), in order: the first of at least `first` lines, the
 * others of at least `lines` (the last may be shorter). The read view renders the first at once
 * and the others after it (`ChartRead`).
 */
export function chartParts(blocks: readonly ChartBlock[], first: number, lines = first): ChartBlock[][] {
  const parts: ChartBlock[][] = [];
  let part: ChartBlock[] = [];
  let n = 0;
  for (const b of blocks) {
    part.push(b);
    n += shownLines([b]);
    if (n >= (parts.length ? lines : first)) {
      parts.push(part);
      part = [];
      n = 0;
    }
  }
  if (part.length || !parts.length) parts.push(part);
  return parts;
}
