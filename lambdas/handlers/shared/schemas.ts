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

/** Ids we accept from clients: printable, no separators our keys use. */
const id = z.string().min(1).max(128).regex(CLIENT_ID, 'must be 1-128 letters, digits or _ . : @ -');

export const bookingSchema = z.object({
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
  routing_type: z
    .enum(ROUTING_TYPES)
    .nullish()
    .transform((v) => v ?? null),
  workshop_id: id.nullish().transform((v) => v ?? null),
});

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
