/**
 * Pending requests: a Scan of the table's sparse `pending-by-audience` index, which holds exactly the bookings
 * someone may act on now (offered or open) with their audience and deadline, so its cost is the number of
 * pending requests, not the size of the table (the ops CLI's `requests list --audience` Queries one audience
 * of it). The index does not copy a booking's creation time or favorites: those are read by key
 * (BatchGetItem). Deadlines count down on the server's clock, learnt from DynamoDB's `Date` headers.
 */
import { BatchGetCommand, ScanCommand } from '@aws-sdk/lib-dynamodb';
import type { IndexName } from '../contract/table-schema';
import type { SessionMetadata } from '../lambdas/domain/booking';
import type { BookingState } from '../lambdas/domain/lifecycle';
import { config } from './api';
import { formatRemaining, ServerClock } from './clock';
import { h } from './dom';
import { tableClient } from './ops-aws';
import { audienceText, localTime } from './ops-text';

const PENDING_INDEX: IndexName = 'pending-by-audience';
/** A page is enough to watch a demo; the CLI lists them all. BatchGetItem takes at most 100 keys. */
const MAX_PENDING = 50;

/** What the index holds of a pending booking: its table key, the included fields, and the index keys (audience, deadline). */
interface PendingItem {
  readonly pk: string;
  readonly sk: string;
  readonly session_id: string;
  readonly state: BookingState;
  readonly pending_pk: string;
  readonly pending_sk: string;
}

interface BookingDetails {
  readonly session_id: string;
  readonly created_at?: string;
  readonly metadata?: SessionMetadata;
}

export class OpsPending extends HTMLElement {
  private readonly clock = new ServerClock();
  private readonly db = tableClient(this.clock);
  private readonly rows = h('tbody', { 'data-testid': 'ops-pending-list' });
  private readonly more = h('p', { class: 'muted' });
  /** Each shown row's deadline and the cell counting down to it. */
  private countdowns: { deadline: string; cell: HTMLElement }[] = [];
  private ticker: ReturnType<typeof setInterval> | undefined;

  connectedCallback(): void {
    const headings = ['session', 'state', 'offered to', 'deadline', 'left', 'created'].map((name) => h('th', {}, name));
    this.replaceChildren(
      h(
        'section',
        { class: 'panel' },
        h('h2', {}, 'Pending requests'),
        h('p', { class: 'muted' }, 'Offered to a favorite (until their window ends) or open to everyone (until the request expires).'),
        h('table', {}, h('thead', {}, h('tr', {}, ...headings)), this.rows),
        this.more,
      ),
    );
    this.ticker = setInterval(() => this.renderCountdowns(), 1000);
  }

  disconnectedCallback(): void {
    clearInterval(this.ticker);
  }

  async refresh(): Promise<void> {
    const page = await this.db.send(new ScanCommand({ TableName: config.aws.tableName, IndexName: PENDING_INDEX, Limit: MAX_PENDING }));
    const pending = ((page.Items ?? []) as PendingItem[]).sort((a, b) => a.pending_sk.localeCompare(b.pending_sk));
    const details = await this.detailsOf(pending);
    this.countdowns = [];
    const rows = pending.map((item) => {
      const booking = details.get(item.session_id);
      const countdown = h('td', { class: 'countdown', 'data-testid': 'ops-pending-countdown' });
      this.countdowns.push({ deadline: item.pending_sk, cell: countdown });
      return h(
        'tr',
        { 'data-testid': 'ops-pending', 'data-session-id': item.session_id, 'data-state': item.state },
        h('td', {}, h('code', { title: item.session_id }, item.session_id.slice(0, 8))),
        h('td', {}, item.state),
        h('td', { 'data-testid': 'ops-pending-audience' }, audienceText(item.pending_pk, booking?.metadata)),
        h('td', {}, localTime(item.pending_sk)),
        countdown,
        h('td', {}, booking?.created_at ? localTime(booking.created_at) : '—'),
      );
    });
    this.rows.replaceChildren(...(rows.length ? rows : [h('tr', {}, h('td', { colspan: '6', class: 'muted' }, 'No request is pending.'))]));
    this.more.textContent = page.LastEvaluatedKey ? `The first ${MAX_PENDING} scanned are shown; npx priority-dispatch requests list has them all.` : '';
    this.renderCountdowns();
  }

  /** Creation time and favorites, by the bookings' table keys (which every index copies). Keys DynamoDB leaves unprocessed show "—" until the next refresh. */
  private async detailsOf(pending: readonly PendingItem[]): Promise<Map<string, BookingDetails>> {
    if (pending.length === 0) return new Map();
    const answer = await this.db.send(
      new BatchGetCommand({
        RequestItems: {
          [config.aws.tableName]: {
            Keys: pending.map(({ pk, sk }) => ({ pk, sk })),
            ProjectionExpression: '#session, #created, #metadata',
            ExpressionAttributeNames: { '#session': 'session_id', '#created': 'created_at', '#metadata': 'metadata' },
          },
        },
      }),
    );
    const found = (answer.Responses?.[config.aws.tableName] ?? []) as BookingDetails[];
    return new Map(found.map((booking) => [booking.session_id, booking]));
  }

  private renderCountdowns(): void {
    for (const { deadline, cell } of this.countdowns) {
      const left = this.clock.remaining(deadline);
      // Past its deadline a request is still pending until its timer fires (within a second, or Scheduler's minute).
      cell.textContent = left > 0 ? formatRemaining(left) : 'due';
    }
  }
}
