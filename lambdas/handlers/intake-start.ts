/** POST /intake/start — validate the booking, then `startIntake`. */
import { invalidRequest } from '../domain/errors';
import { startIntake } from '../use-cases/booking';
import { wire } from '../wiring';
import { fanOut } from '../wiring/fan-out';
import { flag } from '../wiring/flag';
import { pusher } from '../wiring/pusher';
import { table } from '../wiring/table';
import { timer } from '../wiring/timer';
import { bookingSchema, parseWith } from './shared/schemas';
import { callerId, header, httpHandler, json, jsonBody } from './shared/http';

const deps = wire(table, flag, pusher, fanOut, timer);

const IDEMPOTENCY_KEY = /^[\x21-\x7e]{1,255}$/;

export const handler = httpHandler(async (event) => {
  const customerId = callerId(event);
  const idempotencyKey = header(event, 'Idempotency-Key');
  if (idempotencyKey !== undefined && !IDEMPOTENCY_KEY.test(idempotencyKey)) {
    throw invalidRequest('Idempotency-Key header must be 1-255 visible ASCII characters');
  }
  const booking = parseWith(bookingSchema, jsonBody(event));
  const answer = await startIntake(deps, { customerId, idempotencyKey, booking });
  return json(201, answer);
});
