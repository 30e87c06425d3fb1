/** What the customer view says about one booking: pure, so the wording is tested without a browser. */
import type { CustomerStatus } from '../lambdas/domain/customer';
import { formatRemaining } from './clock';

/**
 * One line per state. `favorites` are the booking's favorites in order when
 * this page made the booking (a booking seen only through `sync` has none, so
 * its line names the mechanic without the "favorite N of M").
 */
export function customerStatusText(status: CustomerStatus, favorites: readonly string[], remainingMs: number | undefined): string {
  const left = remainingMs === undefined ? '' : formatRemaining(remainingMs);
  switch (status.state) {
    case 'awaiting_checkout':
      return 'Awaiting checkout';
    case 'routing':
      return 'Finding a mechanic…';
    case 'offered': {
      const index = status.mechanic_id ? favorites.indexOf(status.mechanic_id) : -1;
      const which = index >= 0 ? ` (favorite ${index + 1} of ${favorites.length})` : '';
      return `Contacting ${status.mechanic_id ?? 'your favorite'}${which}${left ? ` — ${left} left` : ''}`;
    }
    case 'open':
      return `Open to everyone${left ? ` — expires in ${left}` : ''}`;
    case 'matched':
      return `Matched with ${status.mechanic_id ?? 'a mechanic'}`;
    case 'cancelled':
      return 'Cancelled';
    case 'expired':
      return 'Expired';
  }
}

/** Once a booking has ended, a late duplicate of an earlier status (delivery is at least once) must not bring it back. */
export const isFinal = (state: CustomerStatus['state']): boolean => state === 'matched' || state === 'cancelled' || state === 'expired';
