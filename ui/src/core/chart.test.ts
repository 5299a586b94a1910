import { describe, expect, it } from 'vitest';
import type { ChartView } from '../bindings';
import { renderChart } from '../wasm/api';
import { chartBlocks, chartParts, scrollFraction } from './chart';

// ChordPro itself (reading, transposing, capo shapes, numbers) is tested in Rust
// (crates/core/src/chart/tests.rs); here, the page's call into it and how the view lays it out.
const CHART = `{title: Wonderwall}
[Em7]Today is [G]gonna be the day
{soc}
[C]And all the [D]roads
{eoc}
{sot}
e|--3--|
B|-----|
{eot}
{sog}
| G . . . | C . . . |
| % | D . . . |
{eog}
{chorus}`;

const AS_WRITTEN: ChartView = { transpose: 0, capo: 0, notation: 'letters', key: null };

describe('rendering a chart through the core', () => {
  it('writes the chords for the reader: transposed, with the shapes under the capo', () => {
    const { rendered, music_lines } = renderChart(CHART, { transpose: 3, capo: 3, notation: 'letters', key: 'G' });
    expect(rendered.key).toBe('Bb');
    expect(rendered.shape_key).toBe('G');
    expect(rendered.chart.lines[1]).toEqual({
      kind: 'lyrics',
      pairs: [
        { chord: 'Gm7', shape: 'Em7', text: 'Today is ' },
        { chord: 'Bb', shape: 'G', text: 'gonna be the day' },
      ],
    });
    // Two lyric lines, two grid rows and the recalled chorus's line.
    expect(music_lines).toBe(5);
  });

  it('writes numbers against the setlist key', () => {
    const { rendered } = renderChart('[Em7]Today [C]is', { ...AS_WRITTEN, notation: 'roman', key: 'G' });
    expect(rendered.chart.lines[0]).toMatchObject({ pairs: [{ chord: 'vi7' }, { chord: 'IV' }] });
  });
});

describe('chart blocks', () => {
  const blocks = chartBlocks(renderChart(CHART, AS_WRITTEN).rendered.chart.lines);

  it('puts each section around its lines, numbered in order', () => {
    expect(blocks.map((b) => (b.kind === 'section' ? `${b.index}:${b.head.label}${b.head.recall ? ' again' : ''}` : b.kind))).toEqual([
      'line',
      'line',
      '0:Chorus',
      '1:Tab',
      '2:Grid',
      '3:Chorus again',
    ]);
    const chorus = blocks[2];
    expect(chorus.kind === 'section' && chorus.blocks.map((b) => b.kind)).toEqual(['line']);
    const recalled = blocks[5];
    expect(recalled.kind === 'section' && recalled.blocks).toEqual(chorus.kind === 'section' && chorus.blocks);
  });

  it('keeps runs of tab lines and grid rows together', () => {
    const [tab, grid] = [blocks[3], blocks[4]].map((b) => (b.kind === 'section' ? b.blocks : []));
    expect(tab).toEqual([{ kind: 'tab', lines: ['e|--3--|', 'B|-----|'] }]);
    expect(grid.length).toBe(1);
    expect(grid[0].kind === 'grid' && grid[0].rows.map((r) => r.map((c) => (c.cell === 'chord' ? c.chord : c.cell)).join(' '))).toEqual([
      'bar G empty empty empty bar C empty empty empty bar',
      'bar repeat bar D empty empty empty bar',
    ]);
  });

  it('splits them in parts of whole sections, of at least so many lines each', () => {
    // Lines: the title, a lyric, the chorus (label and line: 2), tab and grid (3 each), the
    // recalled chorus (2).
    const parts = chartParts(blocks, 4);
    expect(parts.map((p) => p.length)).toEqual([3, 2, 1]);
    expect(parts.flat()).toEqual(blocks);
    expect(chartParts(blocks, 100)).toEqual([blocks]);
    expect(chartParts(blocks, 1).length).toBe(blocks.length);
    expect(chartParts([], 4)).toEqual([[]]);
    // A first part of its own size.
    expect(chartParts(blocks, 2, 6).map((p) => p.length)).toEqual([2, 3, 1]);
  });

  it('leaves an unopened end alone', () => {
    expect(chartBlocks([{ kind: 'end' }, { kind: 'blank' }])).toEqual([{ kind: 'line', line: { kind: 'blank' } }]);
  });
});

describe('auto-scroll', () => {
  it('scrolls by beats elapsed against the estimated length', () => {
    // 10 lines, 2 bars per line, 4/4: 80 beats.
    expect(scrollFraction(0, 10, 2, 4)).toBe(0);
    expect(scrollFraction(-4, 10, 2, 4)).toBe(0); // count-in
    expect(scrollFraction(40, 10, 2, 4)).toBe(0.5);
    expect(scrollFraction(200, 10, 2, 4)).toBe(1);
    expect(scrollFraction(10, 0, 2, 4)).toBe(0);
  });
});
