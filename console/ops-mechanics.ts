/**
 * Connected mechanics: a Scan of the table's `connections-by-mechanic` index, which holds every live
 * WebSocket connection and nothing else (one item each), grouped by mechanic. Customers' connections are
 * indexed there too, under their own key: counted apart, not listed as mechanics.
 */
import { ScanCommand } from '@aws-sdk/lib-dynamodb';
import type { IndexName } from '../contract/table-schema';
import type { CustomerConnection } from '../lambdas/domain/customer';
import type { Connection } from '../lambdas/domain/mechanic';
import { config } from './api';
import { h } from './dom';
import { tableClient } from './ops-aws';
import { connectedMechanics, localTime } from './ops-text';

const CONNECTIONS_INDEX: IndexName = 'connections-by-mechanic';

export class OpsMechanics extends HTMLElement {
  private readonly db = tableClient();
  private readonly rows = h('tbody', { 'data-testid': 'ops-mechanic-list' });
  private readonly customers = h('strong', { 'data-testid': 'ops-customer-connections' }, '…');
  private readonly more = h('p', { class: 'muted' });

  connectedCallback(): void {
    const headings = ['mechanic', 'connections', 'connected since', 'availability'].map((name) => h('th', {}, name));
    this.replaceChildren(
      h(
        'section',
        { class: 'panel' },
        h('h2', {}, 'Connected mechanics'),
        h('table', {}, h('thead', {}, h('tr', {}, ...headings)), this.rows),
        h('p', {}, 'Customers connected (watching their bookings): ', this.customers),
        this.more,
      ),
    );
  }

  /** One Scan page (up to 1 MB of connection items: thousands), enough to watch a demo; the rest are counted out. */
  async refresh(): Promise<void> {
    const page = await this.db.send(new ScanCommand({ TableName: config.aws.tableName, IndexName: CONNECTIONS_INDEX }));
    const { mechanics, customerConnections } = connectedMechanics((page.Items ?? []) as (Connection | CustomerConnection)[]);
    const rows = mechanics.map((mechanic) =>
      h(
        'tr',
        { 'data-testid': 'ops-mechanic', 'data-mechanic-id': mechanic.mechanicId, 'data-paused': String(mechanic.paused) },
        h('td', {}, mechanic.mechanicId),
        h('td', { 'data-testid': 'ops-mechanic-connections' }, String(mechanic.connections)),
        h('td', {}, localTime(mechanic.since)),
        h('td', { 'data-testid': 'ops-mechanic-availability' }, mechanic.paused ? 'paused' : 'available'),
      ),
    );
    this.rows.replaceChildren(...(rows.length ? rows : [h('tr', {}, h('td', { colspan: '4', class: 'muted' }, 'No mechanic is connected.'))]));
    this.customers.textContent = String(customerConnections);
    this.more.textContent = page.LastEvaluatedKey ? 'More connections than one Scan page: only those of the first page are counted.' : '';
  }
}
