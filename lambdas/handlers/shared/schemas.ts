/**
 * Input schemas (zod 4: its issues carry the path of the offending field, so
 * every 400 names it; unknown extra fields are stripped, not refused, so
 * clients of different versions coexist).
 */
import * as z from 'zod';
import { invalidRequest } from '../../domain/errors';
import { CLIENT_ID } from '../../domain/ids';
import { MECHANIC_STATUSES } from '../../domain/mechanic';
import { PLANS, ROUTING_TYPES } from '../../domain/booking';
import { TICKET_ROLES } from '../../domain/tickets';

/** Ids we accept from clients: printable, no separators our keys use. */
const id = z.string().min(1).max(128).regex(CLIENT_ID, 'must be 1-128 letters, digits or _ . : @ -');

/** The most favorites a booking may name: each gets the whole priority window in turn, so more would keep a customer waiting too long. */
export const MAX_FAVORITES = 3;

const bookingFields = z.object({
  plan: z.enum(PLANS),
  concern: z.string().trim().min(1, 'must not be empty').max(2000),
  vehicle: z
    .object({
      make: z.string().trim().min(1).max(100),
      model: z.string().trim().min(1).max(100),
      year: z.number().int().min(1886).max(2100),
    })
    .nullish()
    .transform((v) => v ?? null),
  preferred_mechanic_id: id.nullish().transform((v) => v ?? null),
  preferred_mechanic_ids: z
    .array(id)
    .min(1)
    .max(MAX_FAVORITES)
    .refine((ids) => new Set(ids).size === ids.length, 'must not name a mechanic twice')
    .nullish(),
  routing_type: z
    .enum(ROUTING_TYPES)
    .nullish()
    .transform((v) => v ?? null),
  workshop_id: id.nullish().transform((v) => v ?? null),
});

/**
 * The booking, its favorites in one shape whichever field named them: `preferred_mechanic_id` is the first (null
 * when none), `preferred_mechanic_ids` is there only with two or three — so a booking with one favorite is the
 * same input (and `Idempotency-Key` fingerprint) as before lists existed. A client may send both (old servers
 * read only the single field) when the single one is the list's first.
 */
export const bookingSchema = bookingFields
  .refine((b) => !b.preferred_mechanic_ids || b.preferred_mechanic_id === null || b.preferred_mechanic_id === b.preferred_mechanic_ids[0], {
    path: ['preferred_mechanic_id'],
    message: 'must be the first of preferred_mechanic_ids when both are given',
  })
  .transform(({ preferred_mechanic_ids: ids, ...booking }) => ({
    ...booking,
    preferred_mechanic_id: ids?.[0] ?? booking.preferred_mechanic_id,
    ...(ids && ids.length > 1 ? { preferred_mechanic_ids: ids } : {}),
  }));

export const mechanicSchema = z.object({
  status: z.enum(MECHANIC_STATUSES),
  name: z
    .string()
    .trim()
    .min(1)
    .max(200)
    .nullish()
    .transform((v) => v ?? null),
  workshop_id: id.nullish().transform((v) => v ?? null),
});

export const mechanicIdSchema = id;

/** `POST /ws/ticket`: which connection the ticket opens; a mechanic's when not said, as on the WebSocket without `role`. */
export const ticketRequestSchema = z.object({
  role: z
    .enum(TICKET_ROLES)
    .nullish()
    .transform((v) => v ?? 'mechanic'),
});

/** WebSocket accept/decline body. */
export const requestActionSchema = z.object({ action: z.string(), request_id: z.string().min(1).max(128) });

/** The timer schedule's input (lambdas/adapters/eventbridge-request-timer.ts). */
export const timerInputSchema = z.object({ request_id: z.string().min(1).max(128), due_at: z.iso.datetime() });

/** The fan-out event (lambdas/adapters/lambda-fan-out.ts); the message is ours, passed through as is. */
export const fanOutInputSchema = z.object({
  request_id: z.string().min(1).max(128),
  audience: z.discriminatedUnion('kind', [
    z.object({ kind: z.literal('everyone') }),
    z.object({ kind: z.literal('shard'), shard: z.number().int().min(0) }),
    z.object({ kind: z.literal('workshop'), workshopId: z.string().min(1) }),
    z.object({ kind: z.literal('mechanic'), mechanicId: z.string().min(1) }),
  ]),
  message: z.looseObject({ type: z.string() }),
  except_connection_id: z.string().optional(),
  except_mechanic_id: z.string().optional(),
});

/** Parses or throws a 400 whose message names the first offending field. */
export function parseWith<T extends z.ZodType>(schema: T, input: unknown, where = 'body'): z.output<T> {
  const result = schema.safeParse(input, { reportInput: true });
  if (result.success) return result.data;
  throw invalidRequest(describeIssue(result.error.issues[0]!, where));
}

export function describeIssue(issue: z.core.$ZodIssue, where: string): string {
  const field = issue.path.length ? issue.path.join('.') : where;
  if (issue.code === 'invalid_type' && issue.input === undefined) return `${field} is required`;
  if (issue.code === 'invalid_value') return `${field} must be one of ${issue.values.map((v) => String(v)).join(', ')}`;
  return `${field}: ${issue.message}`;
}
