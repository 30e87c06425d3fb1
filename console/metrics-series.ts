/**
 * The ops view's chart of the business metrics, as data: which metrics it
 * shows, the minutes of its window, each series filled in per minute and the
 * y axis's scale. Pure, so the arithmetic is tested without a browser.
 */
import type { MetricName } from '../contract/metrics';

export interface ChartMetric {
  readonly name: MetricName;
  readonly label: string;
  readonly color: string;
}

/** Counted per minute (Sum) and drawn as lines; the colours stay apart for the common kinds of colour blindness. */
export const CHART_METRICS: readonly ChartMetric[] = [
  { name: 'BookingsCreated', label: 'Bookings', color: '#1c64f2' },
  { name: 'OffersSent', label: 'Priority offers sent', color: '#e66100' },
  { name: 'FavoriteAccepted', label: 'Won by the favorite', color: '#0e7c3a' },
  { name: 'FallbacksFired', label: 'Fallbacks to everyone', color: '#9b1c1c' },
  { name: 'RequestsExpired', label: 'Expired', color: '#627d98' },
];

export const WINDOW_MINUTES = 30;
const MINUTE_MS = 60_000;

export interface ChartWindow {
  /** Epoch ms: the first minute's start, and the end of the current minute (GetMetricData's EndTime is exclusive). */
  readonly start: number;
  readonly end: number;
  /** Each minute's start, oldest first; the last one is the minute under way. */
  readonly minutes: readonly number[];
}

/** The last `WINDOW_MINUTES` whole minutes, the current one included: periods of 60 s aligned on the minute, as CloudWatch aligns them. */
export function chartWindow(nowMs: number): ChartWindow {
  const end = Math.floor(nowMs / MINUTE_MS) * MINUTE_MS + MINUTE_MS;
  const start = end - WINDOW_MINUTES * MINUTE_MS;
  return { start, end, minutes: Array.from({ length: WINDOW_MINUTES }, (_, i) => start + i * MINUTE_MS) };
}

/** One value per minute of the window: CloudWatch answers only the periods that have data, so a missing one counted nothing. */
export function perMinute(window: ChartWindow, timestamps: readonly Date[], values: readonly number[]): number[] {
  const byMinute = new Map(timestamps.map((timestamp, index) => [timestamp.getTime(), values[index] ?? 0]));
  return window.minutes.map((minute) => byMinute.get(minute) ?? 0);
}

/** The y axis: a round top (1, 2 or 5 × 10ⁿ, at least 1: counts are whole) at or above the largest value, and ticks up to it. */
export function yScale(max: number): { top: number; ticks: number[] } {
  const wanted = Math.max(1, max);
  const magnitude = 10 ** Math.floor(Math.log10(wanted));
  const top = [1, 2, 5, 10].map((step) => step * magnitude).find((candidate) => candidate >= wanted)!;
  const step = top <= 2 ? 1 : top / (top / magnitude === 2 ? 4 : 5);
  return { top, ticks: Array.from({ length: Math.round(top / step) + 1 }, (_, i) => i * step) };
}

/** A time in milliseconds as the legend reads it: `850 ms`, `4.2 s`, `3 min 5 s`. */
export function formatDuration(ms: number): string {
  if (ms < 1000) return `${Math.round(ms)} ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)} s`;
  const seconds = Math.round(ms / 1000);
  return `${Math.floor(seconds / 60)} min ${seconds % 60} s`;
}
