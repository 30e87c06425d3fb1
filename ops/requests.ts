/**
 * `requests list|show`: bookings (one item each: the session and its request) read from the table, through the
 * booking store where it has the read (pending-by-audience, bookings-by-customer, GetItem).
 */
import { type DynamoDBDocumentClient, paginateScan } from '@aws-sdk/lib-dynamodb';
import { DynamoDbBookingStore } from '../lambdas/adapters/dynamodb-booking-store';
import { keys } from '../lambdas/adapters/dynamodb-keys';
import type { Booking } from '../lambdas/domain/booking';
import { isRequestId, sessionIdOf } from '../lambdas/domain/ids';
import type { BookingState } from '../lambdas/domain/lifecycle';
import { OpsError } from './errors';

/** One line of `requests list`: what every read below has of a booking. */
export interface RequestRow {
  session_id: string;
  request_id: string;
  state: BookingState;
  /** Whom it is offered to now (`everyone`, `mechanic#…`, `workshop#…`); absent from the pending index's rows (it is the key asked for). */
  audience?: string | null;
  mechanic_id?: string | null;
  expires_at: string | null;
  open_until: string | null;
  created_at?: string;
}

export interface ListRequestsInput {
  state?: BookingState;
  audience?: string;
  customer?: string;
  now: Date;
}

/** At most this many of a customer's bookings (the index's newest first). */
const CUSTOMER_LIMIT = 100;

export async function listRequests(db: DynamoDBDocumentClient, tableName: string, input: ListRequestsInput): Promise<RequestRow[]> {
  const store = new DynamoDbBookingStore(db, tableName);
  let rows: RequestRow[];
  if (input.audience !== undefined) {
    rows = (await store.pendingFor(input.audience, input.now.toISOString())).map(({ deadline: _deadline, concern: _concern, vehicle: _vehicle, ...row }) => ({
      ...row,
      audience: input.audience,
    }));
  } else if (input.customer !== undefined) {
    rows = await store.listByCustomer(input.customer, CUSTOMER_LIMIT);
  } else {
    rows = await scanBookings(db, tableName);
  }
  return input.state === undefined ? rows : rows.filter((row) => row.state === input.state);
}

/** Every booking item: a Scan of the whole table (the caller's help text says so), the summary fields only. */
async function scanBookings(db: DynamoDBDocumentClient, tableName: string): Promise<RequestRow[]> {
  const rows: RequestRow[] = [];
  const pages = paginateScan(
    { client: db },
    {
      TableName: tableName,
      FilterExpression: 'begins_with(pk, :prefix) AND sk = :sk',
      ProjectionExpression: 'session_id, request_id, #state, audience, mechanic_id, expires_at, open_until, created_at',
      ExpressionAttributeNames: { '#state': 'state' },
      ExpressionAttributeValues: { ':prefix': keys.booking('').pk, ':sk': keys.booking('').sk },
    },
  );
  for await (const page of pages) for (const item of page.Items ?? []) rows.push(item as RequestRow);
  return rows.sort((a, b) => (b.created_at ?? '').localeCompare(a.created_at ?? ''));
}

/** The booking behind a session id or a request id (`req-<session id>`), consistent read. */
export async function showRequest(db: DynamoDBDocumentClient, tableName: string, id: string): Promise<Booking> {
  const sessionId = isRequestId(id) ? sessionIdOf(id) : id;
  const booking = await new DynamoDbBookingStore(db, tableName).get(sessionId);
  if (!booking) throw new OpsError('not_found', `no booking has the id ${id}`);
  return booking;
}
