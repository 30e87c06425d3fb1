/**
 * The fallback: a priority booking whose favorite stays silent; its window
 * lapses, the request timer opens it to everyone, and the figure is the last
 * of the crowd's mechanics (the favorite included) to receive the fallback
 * `new_request`, minus the `expires_at` the favorite was offered (server
 * time). The bench's sandbox runs Scheduler at `exact` precision with a
 * 2-second window (bench/crowd.ts) so a run takes seconds: a window under a
 * minute arms the timer for "now" and the timer function waits for the
 * deadline inside its invocation, the same wait a 10-minute window ends with.
 * Runs one at a time, so fallbacks never queue behind one another.
 *
 * Floor, run for run: the fallback's own bytes POSTed to the plain server
 * and broadcast to as many sockets → the last one received.
 */
import { type Crowd, floorId, withRequestId } from './crowd';
import { type Stat, stat } from './stats';

export interface FallbackResult {
  mechanics: number;
  value: Stat;
  floor: Stat;
  samples: { value: number; floor: number }[];
}

export async function fallback(crowd: Crowd, runs: number): Promise<FallbackResult> {
  const samples: FallbackResult['samples'] = [];
  for (let run = 0; run <= runs; run++) {
    const booked = await crowd.book({ preferred_mechanic_id: crowd.mechanics[0], routing_type: 'priority_broadcast' });
    const offer = await crowd.reached('priority_session_request', booked.requestId, [0]);
    const expiresAt = Date.parse((JSON.parse(offer.sample) as { expires_at: string }).expires_at);
    const reached = await crowd.reached('new_request', booked.requestId);
    const reason = (JSON.parse(reached.sample) as { reason: string }).reason;
    if (reason !== 'fallback') throw new Error(`expected a fallback new_request, got reason ${reason}`);
    const id = floorId();
    const floor = await crowd.plainBroadcast(withRequestId(reached.sample, id), id);
    // The first run is not counted: the timer's and the fan-out's containers start.
    if (run > 0) samples.push({ value: reached.last - expiresAt, floor: floor.last - floor.postedAt });
  }
  return { mechanics: crowd.size, value: stat(samples.map((s) => s.value)), floor: stat(samples.map((s) => s.floor)), samples };
}
