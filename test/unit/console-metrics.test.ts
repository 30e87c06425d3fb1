/** The ops view chart's arithmetic (console/metrics-series.ts), without a browser. */
import { describe, expect, it } from 'vitest';
import { chartWindow, formatDuration, perMinute, WINDOW_MINUTES, yScale } from '../../console/metrics-series';

const MINUTE = 60_000;

describe('chartWindow', () => {
  it('ends with the minute under way and starts WINDOW_MINUTES whole minutes before its end', () => {
    const window = chartWindow(Date.parse('2026-11-28T10:17:42.500Z'));

    expect(new Date(window.end).toISOString()).toBe('2026-11-28T10:18:00.000Z');
    expect(new Date(window.start).toISOString()).toBe('2026-11-28T09:48:00.000Z');
    expect(window.minutes).toHaveLength(WINDOW_MINUTES);
    expect(new Date(window.minutes.at(-1)!).toISOString()).toBe('2026-11-28T10:17:00.000Z');
  });
});

describe('perMinute', () => {
  it('puts each datapoint on its minute and counts the minutes CloudWatch left out as 0', () => {
    const window = chartWindow(Date.parse('2026-11-28T10:17:42Z'));
    const last = window.minutes.at(-1)!;

    const values = perMinute(window, [new Date(last - 2 * MINUTE), new Date(last)], [3, 1]);

    expect(values.slice(-4)).toEqual([0, 3, 0, 1]);
    expect(values.reduce((sum, value) => sum + value, 0)).toBe(4);
  });
});

describe('yScale', () => {
  it.each([
    [0, 1, [0, 1]],
    [2, 2, [0, 1, 2]],
    [3, 5, [0, 1, 2, 3, 4, 5]],
    [7, 10, [0, 2, 4, 6, 8, 10]],
    [15, 20, [0, 5, 10, 15, 20]],
    [120, 200, [0, 50, 100, 150, 200]],
  ])('takes %d to a top of %d with ticks %o', (max, top, ticks) => {
    expect(yScale(max)).toEqual({ top, ticks });
  });
});

describe('formatDuration', () => {
  it.each([
    [653, '653 ms'],
    [4_240, '4.2 s'],
    [185_000, '3 min 5 s'],
  ])('writes %d ms as %s', (ms, text) => {
    expect(formatDuration(ms)).toBe(text);
  });
});
