/**
 * Broadcast to every connected mechanic: `POST /intake/start` of a booking
 * with no favorite → the last mechanic's `new_request`. Its floor, run for
 * run: the same message (same bytes, another request id) POSTed to the plain
 * `ws` server, which sends it to as many sockets, held by the same fleet
 * processes → the last one received. Neither waits for anything but delivery.
 *
 * Each run also counts the CPU it took, per message delivered: the sandbox
 * (this process, all its threads) and the mechanics' processes from POST to
 * last receipt, against the plain server's and the same processes' for the
 * floor. On a machine of C cores a broadcast to N cannot finish sooner than
 * N × that CPU ÷ C, however it is scheduled: the figure's own lower bound.
 */
import { type Crowd, floorId, withRequestId } from './crowd';
import { type Stat, stat } from './stats';

/** Broadcasts before the measured ones: the first starts the containers, the rest warm their code. */
const WARM_BROADCASTS = 5;

export interface BroadcastResult {
  mechanics: number;
  value: Stat;
  floor: Stat;
  /** Each run's pair, ms. */
  samples: { value: number; floor: number }[];
  /** CPU per message delivered, µs: the sandbox's plus the mechanics' processes'; the floor's, the plain server's plus the same processes'. */
  cpu: { value: Stat; floor: Stat };
}

export async function broadcast(crowd: Crowd, runs: number): Promise<BroadcastResult> {
  // Broadcasts first, not counted: the fan-out's containers start (cold starts) and serve a few shards each, so the
  // JIT has compiled their code (each container runs its own copy, as in Lambda); the message's bytes are known.
  let sample = '';
  for (let warm = 0; warm < WARM_BROADCASTS; warm++) sample = (await crowd.reached('new_request', (await crowd.book()).requestId)).sample;
  await crowd.plainBroadcast(withRequestId(sample, 'floor-warm'), 'floor-warm');

  const samples: BroadcastResult['samples'] = [];
  const cpu = { value: [] as number[], floor: [] as number[] };
  const perMessage = (ms: number) => (1000 * ms) / crowd.size;
  for (let run = 0; run < runs; run++) {
    const before = crowd.cpu();
    const booked = await crowd.book();
    const reached = await crowd.reached('new_request', booked.requestId);
    const between = crowd.cpu();
    const id = floorId();
    const floor = await crowd.plainBroadcast(withRequestId(sample, id), id);
    const after = crowd.cpu();
    samples.push({ value: reached.last - booked.postedAt, floor: floor.last - floor.postedAt });
    cpu.value.push(perMessage(between.sandbox - before.sandbox + between.fleets - before.fleets));
    cpu.floor.push(perMessage(after.plain - between.plain + after.fleets - between.fleets));
  }
  return {
    mechanics: crowd.size,
    value: stat(samples.map((s) => s.value)),
    floor: stat(samples.map((s) => s.floor)),
    samples,
    cpu: { value: stat(cpu.value), floor: stat(cpu.floor) },
  };
}
