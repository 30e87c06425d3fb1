/**
 * Intake latency while a broadcast runs (issue #8: within 2× its floor).
 * Each sample: a first broadcast booking starts its fan-out, then (50 ms
 * later, while it pushes) a second booking's `POST /intake/start` is timed;
 * the next sample waits until both broadcasts have reached everyone, so the
 * backlog never grows. The floor is the same series with no mechanic
 * connected (bench/run.ts measures it first, in the same sandbox), so the
 * fan-out runs but pushes nothing.
 */
import type { Crowd } from './crowd';
import { type Stat, sleep, stat } from './stats';

/** Bookings on the path before the floor's series, so no sample pays a cold start. */
const WARM_UP = 30;

export async function warmIntake(crowd: Crowd): Promise<void> {
  for (let i = 0; i < WARM_UP; i++) await crowd.book();
}

/** The series at the crowd's current size: `samples` timed intakes, each while another booking's broadcast runs. */
export async function intakeDuringBroadcast(crowd: Crowd, samples: number): Promise<{ mechanics: number; value: Stat; samples: number[] }> {
  if (crowd.size > 0) {
    // One broadcast first: every fan-out container has started once at this size.
    const warm = await crowd.book();
    await crowd.reached('new_request', warm.requestId);
  }
  const times: number[] = [];
  for (let i = 0; i < samples; i++) {
    const first = await crowd.book(); // a broadcast under way…
    await sleep(50);
    const second = await crowd.book(); // …while this intake is timed
    times.push(second.answeredAt - second.postedAt);
    if (crowd.size > 0) await Promise.all([crowd.reached('new_request', first.requestId), crowd.reached('new_request', second.requestId)]);
  }
  return { mechanics: crowd.size, value: stat(times), samples: times };
}
