/**
 * Errors a use case raises on purpose. Handlers map them to the contract's
 * `{"error":{"code","message"}}` with the status here; anything else is a bug
 * or an outage and becomes a logged 500.
 */
export class AppError extends Error {
  constructor(
    readonly status: 400 | 401 | 403 | 404 | 409 | 413 | 422 | 429,
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = 'AppError';
  }
}

export const invalidRequest = (message: string): AppError => new AppError(400, 'invalid_request', message);
export const invalidJson = (message: string): AppError => new AppError(400, 'invalid_json', message);
export const unauthorized = (message = 'A valid bearer token is required'): AppError => new AppError(401, 'unauthorized', message);
export const forbidden = (message: string): AppError => new AppError(403, 'forbidden', message);
export const notFound = (what: string): AppError => new AppError(404, 'not_found', `${what} not found`);
export const conflict = (code: string, message: string): AppError => new AppError(409, code, message);
export const tooManyOpenBookings = (max: number): AppError =>
  new AppError(429, 'too_many_open_bookings', `a customer may hold at most ${max} open bookings at once; cancel one, or wait until one is matched or expires`);
export const payloadTooLarge = (limit: number): AppError => new AppError(413, 'payload_too_large', `body is larger than the ${limit}-byte limit`);

/** A short, loggable description of anything thrown. */
export const describeError = (error: unknown): string => (error instanceof Error ? `${error.name}: ${error.message}` : String(error));
