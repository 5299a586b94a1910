import { describe, expect, it } from 'vitest';
import { eventHost, offsetFromCalibration } from './calibrate';

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
  it('is a tenth of a ms, within the range of the field', () => {
    expect(offsetFromCalibration(37.46)).toBe(37.5);
    expect(offsetFromCalibration(-9.04)).toBe(-9);
    expect(offsetFromCalibration(123)).toBe(123);
    expect(offsetFromCalibration(500.04)).toBe(500);
    expect(offsetFromCalibration(500.06)).toBeNull();
    expect(offsetFromCalibration(-250)).toBeNull();
  });
});
