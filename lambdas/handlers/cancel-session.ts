/** POST /sessions/{id}/cancel — the owner cancels; a pending request becomes cancelled. */
import { cancelBooking } from '../use-cases/booking';
import { wire } from '../wiring';
import { fanOut } from '../wiring/fan-out';
import { pusher } from '../wiring/pusher';
import { table } from '../wiring/table';
import { timer } from '../wiring/timer';
import { callerId, httpHandler, json, pathId } from './shared/http';

const deps = wire(table, pusher, fanOut, timer);

export const handler = httpHandler(async (event) => json(200, await cancelBooking(deps, { customerId: callerId(event), sessionId: pathId(event) })));
