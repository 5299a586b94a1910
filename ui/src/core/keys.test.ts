import { describe, expect, it } from 'vitest';
import { keyAction, learnKey } from './keys';

describe('page turner keys', () => {
  it('turn the page forward and back for everyone', () => {
    for (const k of ['PageDown', 'ArrowDown', 'ArrowRight', ' ']) expect(keyAction(k, false, {})).toBe('forward');
    for (const k of ['PageUp', 'ArrowUp', 'ArrowLeft']) expect(keyAction(k, false, {})).toBe('back');
    expect(keyAction('x', false, {})).toBeNull();
    expect(keyAction('Enter', true, {})).toBeNull();
  });

  it('call the next song and start or stop for the leader alone', () => {
    expect(keyAction('n', true, {})).toBe('next');
    expect(keyAction('N', true, {})).toBe('next');
    expect(keyAction('s', true, {})).toBe('transport');
    expect(keyAction('n', false, {})).toBeNull();
    expect(keyAction('s', false, {})).toBeNull();
  });

  it('put a taught key first', () => {
    const learned = { forward: 'b', next: 'ArrowRight', transport: 'Enter' };
    expect(keyAction('B', false, learned)).toBe('forward');
    expect(keyAction('ArrowRight', true, learned)).toBe('next');
    expect(keyAction('ArrowRight', false, learned)).toBeNull();
    expect(keyAction('Enter', true, learned)).toBe('transport');
    expect(keyAction('PageDown', false, learned)).toBe('forward');
  });

  it('learn one key per action, move a key between actions, and forget with Escape', () => {
    let k = learnKey({}, 'forward', 'B');
    expect(k).toEqual({ forward: 'b' });
    k = learnKey(k, 'back', 'a');
    expect(k).toEqual({ forward: 'b', back: 'a' });
    expect(learnKey(k, 'forward', 'c')).toEqual({ forward: 'c', back: 'a' });
    expect(learnKey(k, 'next', 'a')).toEqual({ forward: 'b', next: 'a' });
    expect(learnKey(k, 'forward', 'Escape')).toEqual({ back: 'a' });
  });
});
