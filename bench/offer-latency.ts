/**
 * The favorite's offer under load: 20 priority bookings POSTed at once, each
 * naming a different connected favorite; each one's latency is its POST →
 * its favorite's `priority_session_request` (the offer DESIGN §3 names; it is
 * what the favorite's app shows), and a run's figure is the p99 of its 20 (the
 * slowest, by nearest rank). The favorites then accept, so every request ends
 * matched long before its window would lapse into a fallback.
 *
 * Floor, run for run: the same 20 offers' bytes POSTed at once to the plain
 * server, each sent on to its favorite's twin socket → received. That is the
 * least a POST-triggered push can cost here: one HTTP round trip on loopback
 * plus one WebSocket frame, with no authorizer, no Lambda, no DynamoDB.
 */
import { type Crowd, floorId, withRequestId } from './crowd';
import { p99, type Stat, stat } from './stats';

export const CONCURRENT_BOOKINGS = 20;
/** Rounds of 20 bookings before the measured ones (the CPU per booking falls from ~35 ms to ~15 ms over the first ten). */
const WARM_ROUNDS = 10;

export interface OfferResult {
  bookings: number;
  value: Stat;
  floor: Stat;
  samples: { value: number; floor: number }[];
  /** CPU of the sandbox (this process, all its threads) per booking, µs, from the first POST to the last offer received. */
  cpu: Stat;
}

export async function offerLatency(crowd: Crowd, runs: number): Promise<OfferResult> {
  if (crowd.size < CONCURRENT_BOOKINGS) throw new Error(`offer latency needs ${CONCURRENT_BOOKINGS} connected mechanics, has ${crowd.size}`);
  const favorites = Array.from({ length: CONCURRENT_BOOKINGS }, (_, i) => i);
  // Not counted: the priority path's containers start, and serve enough bookings for their code to be
  // compiled by the JIT (each of the 20 runs its own copy, as Lambda containers do): the figure is a warm marketplace's.
  for (let warm = 0; warm < WARM_ROUNDS; warm++) await round(crowd, favorites);
  const samples: (OfferResult['samples'][number] & { cpu: number })[] = [];
  for (let run = 0; run < runs; run++) samples.push(await round(crowd, favorites));
  return {
    bookings: CONCURRENT_BOOKINGS,
    value: stat(samples.map((s) => s.value)),
    floor: stat(samples.map((s) => s.floor)),
    samples: samples.map(({ value, floor }) => ({ value, floor })),
    cpu: stat(samples.map((s) => s.cpu)),
  };
}

async function round(crowd: Crowd, favorites: number[]): Promise<{ value: number; floor: number; cpu: number }> {
  await crowd.prepareCustomers(favorites.length);
  const cpuBefore = crowd.cpu().sandbox;
  const offers = await Promise.all(
    favorites.map(async (position) => {
      const booked = await crowd.book({ preferred_mechanic_id: crowd.mechanics[position], routing_type: 'priority_broadcast' });
      const offer = await crowd.reached('priority_session_request', booked.requestId, [position]);
      return { position, booked, offer };
    }),
  );
  const cpu = (1000 * (crowd.cpu().sandbox - cpuBefore)) / favorites.length;
  // Each favorite takes its request: it ends matched, nobody else is told, no window lapses later.
  for (const { position, booked } of offers) await crowd.send(position, { action: 'accept', request_id: booked.requestId });
  await Promise.all(offers.map(({ position, booked }) => crowd.reached('accept_result', booked.requestId, [position])));

  const floors = await Promise.all(
    offers.map(({ position, offer }) => {
      const id = floorId();
      return crowd.plainSend(position, withRequestId(offer.sample, id), id);
    }),
  );
  return {
    value: p99(offers.map(({ booked, offer }) => offer.last - booked.postedAt)),
    floor: p99(floors.map((f) => f.last - f.postedAt)),
    cpu,
  };
}
