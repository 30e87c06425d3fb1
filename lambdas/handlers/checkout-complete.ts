/** POST /sessions/{id}/checkout/complete — what the payment webhook calls; repeating it changes nothing. */
import { completeCheckout } from '../use-cases/booking';
import { wire } from '../wiring';
import { fanOut } from '../wiring/fan-out';
import { flag } from '../wiring/flag';
import { pusher } from '../wiring/pusher';
import { table } from '../wiring/table';
import { timer } from '../wiring/timer';
import { callerId, httpHandler, json, pathId } from './shared/http';

const deps = wire(table, flag, pusher, fanOut, timer);

export const handler = httpHandler(async (event) => json(200, await completeCheckout(deps, { customerId: callerId(event), sessionId: pathId(event) })));
