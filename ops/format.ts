/** Text output for people (the `--json` output is the commands' data as-is). Pure. */
import { type Booking, favoritesOf } from '../lambdas/domain/booking';
import type { Mechanic } from '../lambdas/domain/mechanic';
import type { DeadLetter, Replayed } from './dead-letters';
import type { FlagState } from './flag';
import type { RequestRow } from './requests';
import { field } from '../sandbox/log-lines';

/** Columns padded to their widest cell; an absent value is `-`. */
export function table(header: readonly string[], rows: readonly (readonly unknown[])[]): string {
  const cells = [header, ...rows.map((row) => row.map((value) => (value === undefined || value === null || value === '' ? '-' : String(value))))];
  const widths = header.map((_, column) => Math.max(...cells.map((row) => row[column]!.length)));
  return cells.map((row) => row.map((cell, column) => (column === row.length - 1 ? cell : cell.padEnd(widths[column]!))).join('  ')).join('\n');
}

export const flagText = (flag: FlagState): string =>
  `ENABLE_FAVORITES_PRIORITY is ${flag.on ? 'on' : 'off'} (${flag.parameter} = "${flag.value}", version ${flag.version ?? '?'}, modified ${flag.last_modified ?? '?'})`;

export const mechanicsText = (mechanics: readonly Mechanic[]): string =>
  mechanics.length === 0
    ? 'no mechanics'
    : table(
        ['MECHANIC', 'STATUS', 'PAUSED', 'WORKSHOP', 'NAME'],
        mechanics.map((m) => [m.mechanic_id, m.status, m.paused === true ? 'yes' : 'no', m.workshop_id, m.name]),
      );

export const requestsText = (rows: readonly RequestRow[]): string =>
  rows.length === 0
    ? 'no requests'
    : table(
        ['REQUEST', 'STATE', 'AUDIENCE', 'MECHANIC', 'WINDOW ENDS', 'OPEN UNTIL'],
        rows.map((r) => [r.request_id, r.state, r.audience, r.mechanic_id, r.expires_at, r.open_until]),
      );

/** A booking as ops read it: where it stands, then its audit trail, one event a line. */
export function bookingText(booking: Booking): string {
  const fields: [string, unknown][] = [
    ['request', booking.request_id],
    ['session', booking.session_id],
    ['customer', booking.customer_id],
    ['plan', booking.plan],
    ['state', booking.state],
    ['routing', booking.routing],
    ['audience', booking.audience],
    ['favorites', favoritesOf(booking.metadata).join(', ')],
    ['workshop', booking.workshop_id],
    ['mechanic', booking.mechanic_id],
    ['window ends', booking.expires_at],
    ['open until', booking.open_until],
    ['created', booking.created_at],
    ['updated', booking.updated_at],
  ];
  const events = booking.events.map(({ at, type, ...details }) => {
    const rest = Object.entries(details).map(([name, value]) => field(name, value));
    return `  ${String(at)}  ${type}${rest.length > 0 ? `  ${rest.join(' ')}` : ''}`;
  });
  return `${table(['', ''], fields).split('\n').slice(1).join('\n')}\nevents:\n${events.join('\n')}`;
}

export const deadLettersText = (letters: readonly DeadLetter[]): string =>
  letters.length === 0
    ? 'no dead letters'
    : table(
        ['ID', 'AT', 'KIND', 'FUNCTION', 'EVENT', 'ERROR'],
        letters.map((l) => [l.id, l.at, l.kind, l.function_arn.split(':').at(-1), JSON.stringify(l.event), l.error]),
      );

export const replayedText = (results: readonly Replayed[]): string =>
  results.length === 0
    ? 'no dead letters to replay'
    : results
        .map((r) =>
          r.replayed
            ? `replayed ${r.id} on ${r.function_arn.split(':').at(-1)} (invoke accepted; letter deleted)`
            : `NOT replayed ${r.id}: ${r.error} (letter kept)`,
        )
        .join('\n');
