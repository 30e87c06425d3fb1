/**
 * Broadcast to every connected mechanic: `POST /intake/start` of a booking
 * with no favorite → the last mechanic's `new_request`. Its floor, run for
 * run: the same message (same bytes, another request id) POSTed to the plain
 * `ws` server, which sends it to as many sockets, held by the same fleet
 * processes → the last one received. Neither waits for anything but delivery.
 */
import { type Crowd, floorId, withRequestId } from './crowd';
import { type Stat, stat } from './stats';

export interface BroadcastResult {
  mechanics: number;
  value: Stat;
  floor: Stat;
  /** Each run's pair, ms. */
  samples: { value: number; floor: number }[];
}

export async function broadcast(crowd: Crowd, runs: number): Promise<BroadcastResult> {
  // One broadcast first, not counted: the fan-out's containers start (cold starts) and the message's bytes are known.
  const warm = await crowd.book();
  const { sample } = await crowd.reached('new_request', warm.requestId);
  await crowd.plainBroadcast(withRequestId(sample, 'floor-warm'), 'floor-warm');

  const samples: BroadcastResult['samples'] = [];
  for (let run = 0; run < runs; run++) {
    const booked = await crowd.book();
    const reached = await crowd.reached('new_request', booked.requestId);
    const id = floorId();
    const floor = await crowd.plainBroadcast(withRequestId(sample, id), id);
    samples.push({ value: reached.last - booked.postedAt, floor: floor.last - floor.postedAt });
  }
  return { mechanics: crowd.size, value: stat(samples.map((s) => s.value)), floor: stat(samples.map((s) => s.floor)), samples };
}
