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
