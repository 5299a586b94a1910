import { describe, expect, it } from 'vitest';
import type { Click } from '../bindings';
import { eventHost, offsetFromCalibration, tapOffsetMs } from './calibrate';

/** Beats every 500 ms (120 BPM) from host µs 10 s on. */
const beats: Click[] = Array.from({ length: 8 }, (_, i) => ({
  host: 10_000_000 + i * 500_000,
  position: i * 1_000_000,
  bar: Math.floor(i / 4),
  beat_in_bar: i % 4,
  subdivision: false,
  accent: i % 4 === 0 ? 'downbeat' : 'beat',
  count_in: false,
}));

describe('tap offsets', () => {
  it('measure from the click they go with, late or early', () => {
    expect(tapOffsetMs(10_530_000, beats, 0)).toBe(30);
    expect(tapOffsetMs(10_980_000, beats, 0)).toBe(-20);
  });

  it('add the calibration in effect: the click was played that much early', () => {
    // Heard 30 ms after the grid with 100 ms compensated: the output is 130 ms late.
    expect(tapOffsetMs(10_530_000, beats, 100)).toBe(130);
    expect(tapOffsetMs(10_480_000, beats, -50)).toBe(-70);
  });

  it('go with the click that makes them late rather than early, half a beat off', () => {
    // 250 ms after a beat at 120 BPM is 250 before the next: an earbud's latency, not an early
    // output. Up to three quarters of a beat late, and from a quarter early.
    expect(tapOffsetMs(10_750_000, beats, 0)).toBe(250);
    expect(tapOffsetMs(10_870_000, beats, 0)).toBe(370);
    expect(tapOffsetMs(10_880_000, beats, 0)).toBe(-120);
    expect(tapOffsetMs(10_600_000, beats, 200)).toBe(300);
  });

  it('go by when the click was heard, not by the figure in effect', () => {
    // On the click with 400 ms (or -150 ms) compensated: that figure holds, whatever its size.
    expect(tapOffsetMs(10_500_000, beats, 400)).toBe(400);
    expect(tapOffsetMs(10_500_000, beats, -150)).toBe(-150);
    expect(tapOffsetMs(10_600_000, beats, 300)).toBe(400);
  });

  it('need a click', () => {
    expect(tapOffsetMs(10_000_000, [], 0)).toBeNull();
  });
});

describe('event times', () => {
  it('go back from now by the event stamp', () => {
    expect(eventHost(5_000_000, 2000, 1990)).toBe(4_990_000);
  });

  it('fall back to now for a stamp in another base or too old', () => {
    expect(eventHost(5_000_000, 2000, 1.7e12)).toBe(5_000_000);
    expect(eventHost(5_000_000, 2000, 500)).toBe(5_000_000);
    expect(eventHost(5_000_000, 2000, Number.NaN)).toBe(5_000_000);
  });
});

describe('the figure applied', () => {
  it('is whole ms, within the range of the field', () => {
    expect(offsetFromCalibration(123.4)).toBe(123);
    expect(offsetFromCalibration(-12.6)).toBe(-13);
    expect(offsetFromCalibration(640)).toBeNull();
    expect(offsetFromCalibration(-250)).toBeNull();
  });
  it('is a tenth of a ms from a loopback', () => {
    expect(offsetFromCalibration(37.46, true)).toBe(37.5);
    expect(offsetFromCalibration(-9.04, true)).toBe(-9);
    expect(offsetFromCalibration(500.04, true)).toBe(500);
    expect(offsetFromCalibration(500.06, true)).toBeNull();
  });
});
