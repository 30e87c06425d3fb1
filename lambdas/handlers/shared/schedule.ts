/** Asynchronous targets (the timer, the fan-out): the event names the request it works on, and so names the work on every log line. */
export function scheduleCorrelationId(event: unknown): string | undefined {
  const input = (event ?? {}) as { request_id?: unknown; session_id?: unknown };
  const id = input.request_id ?? input.session_id;
  return typeof id === 'string' ? id.slice(0, 128) : undefined;
}
