import { describe, expect, it } from 'vitest';
import { flowPlace, flowProblem } from './flow';

describe('a song flow through the core', () => {
  it('says what does not read', () => {
    expect(flowProblem('Intro 4, V1 16, C 8')).toBeNull();
    expect(flowProblem('Intro 4, Verse')).toContain('Verse');
  });

  it('finds the part and the chart section of a bar', () => {
    const chart = '{sov: Verse 1}\na\n{soc}\nb\n';
    expect(flowPlace('Intro 2, V1 4, C 4', 6, chart)).toMatchObject({ name: 'C', bar: 0, section: 1, next: null });
    expect(flowPlace('Intro 2', -1)).toBeNull();
    expect(flowPlace('nonsense', 0)).toBeNull();
  });
});
