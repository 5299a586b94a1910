import { describe, expect, it } from 'vitest';
import { explainRefusal } from './refusal';
import { TapTempo } from './tap';

describe('tap tempo (the core rule, through wasm)', () => {
  it('averages a series and starts over after a pause', () => {
    const t = new TapTempo();
    expect(t.tap(1000)).toBeNull();
    expect(t.tap(1500)).toBe(120);
    expect(t.tap(2600)).toBe(75);
    expect(t.tap(4601)).toBeNull();
    expect(t.count()).toBe(1);
  });
});

describe('refusals', () => {
  it('explain themselves and offer the PIN only where it helps', () => {
    expect(explainRefusal('auth_required', 'x').pinHelps).toBe(true);
    // The code alone tells a wrong PIN from a stale link; the server's words are not read.
    expect(explainRefusal('wrong_pin', 'wrong PIN').message).toMatch(/Wrong PIN/);
    expect(explainRefusal('bad_secret', 'wrong PIN').message).toMatch(/no longer valid/);
    expect(explainRefusal('unknown_session', 'x').pinHelps).toBe(false);
    expect(explainRefusal('something_new', 'as the host said')).toEqual({ code: 'something_new', message: 'as the host said', pinHelps: false });
  });
});
