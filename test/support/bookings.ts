/** The booking the use-case tests make (as the intake handler passes it on, after validation), with overrides. */
import type { BookingInput } from '../../lambdas/use-cases/booking';

export const booking = (overrides: Partial<BookingInput> = {}): BookingInput => ({
  plan: 'free',
  concern: 'Check engine light after a cold start',
  vehicle: { make: 'Toyota', model: 'Corolla', year: 2019 },
  preferred_mechanic_id: null,
  routing_type: null,
  workshop_id: null,
  ...overrides,
});

/** A booking that asks for `favorite` first. */
export const priorityBooking = (favorite: string, overrides: Partial<BookingInput> = {}): BookingInput =>
  booking({ preferred_mechanic_id: favorite, routing_type: 'priority_broadcast', ...overrides });
