/**
 * Every server message carries `sent_at`, the server's time as it was sent
 * (DESIGN §3). Test clients read each message through these: `sent_at`, when
 * present, must be an ISO 8601 time not in the future; it is taken off, so
 * assertions compare what the message says, and kept for the tests about it.
 * Whatever an operator POSTs to `@connections` arrives as it was sent (as in
 * AWS), so only `requireSentAt` insists on the field: for clients that only
 * ever hear the functions.
 */
export function splitSentAt<M extends object>(text: string): { message: M; sentAt: string | undefined } {
  const { sent_at: sentAt, ...message } = JSON.parse(text) as M & { sent_at?: unknown };
  if (sentAt === undefined) return { message: message as M, sentAt: undefined };
  const at = typeof sentAt === 'string' ? Date.parse(sentAt) : Number.NaN;
  if (Number.isNaN(at) || new Date(at).toISOString() !== sentAt || at > Date.now() + 1000)
    throw new Error(`a server message with an invalid sent_at: ${text.slice(0, 300)}`);
  return { message: message as M, sentAt: sentAt as string };
}

/** A message from the functions: `sent_at` required. */
export function requireSentAt<M extends object>(text: string): M {
  const { message, sentAt } = splitSentAt<M>(text);
  if (sentAt === undefined) throw new Error(`a server message without sent_at: ${text.slice(0, 300)}`);
  return message;
}
