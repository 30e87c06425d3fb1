/**
 * The ops view: what an operator does with the AWS CLI or `npx priority-dispatch`,
 * from the browser, through the AWS SDK signing with SigV4 against the AWS
 * endpoint (console/ops-aws.ts). The flag is read and flipped in SSM Parameter
 * Store; the settings in effect come from the functions' environment (Lambda,
 * console/ops-settings.ts); pending requests and connected mechanics from the
 * table's indexes (DynamoDB, console/ops-pending.ts and console/ops-mechanics.ts);
 * the requests' timers from EventBridge Scheduler; the business metrics' chart
 * from CloudWatch (console/metrics-chart.ts). Dead letters come from the
 * sandbox's `GET /dev/dead-letters` (in AWS: the SQS queue, which the sandbox
 * does not emulate). Everything is read again every 5 seconds.
 */
import { GetScheduleCommand, ListSchedulesCommand, SchedulerClient } from '@aws-sdk/client-scheduler';
import { GetParameterCommand, PutParameterCommand, SSMClient } from '@aws-sdk/client-ssm';
import { call, config } from './api';
import { h } from './dom';
import { awsClientConfig } from './ops-aws';

const REFRESH_EVERY_MS = 5_000;
/** A page of timers is enough to watch a demo; the CLI lists them all. */
const MAX_TIMERS = 20;

export class OpsView extends HTMLElement {
  private readonly ssm = new SSMClient(awsClientConfig);
  private readonly scheduler = new SchedulerClient(awsClientConfig);
  private readonly settings = h('pd-ops-settings');
  private readonly mechanics = h('pd-ops-mechanics');
  private readonly pending = h('pd-ops-pending');
  private readonly flag = h('strong', { 'data-testid': 'ops-flag' }, '…');
  private readonly flagDetail = h('span', { class: 'muted' });
  private readonly timers = h('tbody', { 'data-testid': 'ops-timers' });
  private readonly deadLetters = h('strong', { 'data-testid': 'ops-dead-letters' }, '…');
  private readonly error = h('p', { class: 'error', 'data-testid': 'ops-error' });
  private refresher: ReturnType<typeof setInterval> | undefined;

  connectedCallback(): void {
    const button = (label: string, testid: string, onclick: () => void) => h('button', { type: 'button', 'data-testid': testid, onclick }, label);
    this.replaceChildren(
      h(
        'div',
        { class: 'column' },
        h(
          'section',
          { class: 'panel' },
          h('h2', {}, 'Feature flag'),
          h('p', {}, h('code', {}, config.aws.flagParameterName), ' = ', this.flag),
          h('p', {}, this.flagDetail),
          h(
            'div',
            { class: 'row' },
            button('Turn on', 'ops-flag-on', () => void this.setFlag(true)),
            button('Turn off', 'ops-flag-off', () => void this.setFlag(false)),
          ),
          h('h2', {}, 'Dead letters'),
          h('p', {}, this.deadLetters, ' in the queue'),
          this.error,
        ),
        this.settings,
        this.mechanics,
      ),
      h(
        'div',
        { class: 'column' },
        this.pending,
        h('pd-metrics-chart', { class: 'panel' }),
        h(
          'section',
          { class: 'panel' },
          h('h2', {}, 'Request timers'),
          h('p', { class: 'muted' }, `Schedules in ${config.aws.scheduleGroupName}: one per pending request, due when its window or its expiry ends.`),
          h('table', {}, h('thead', {}, h('tr', {}, h('th', {}, 'schedule'), h('th', {}, 'at'), h('th', {}, 'due at'))), this.timers),
        ),
      ),
    );
    void this.refresh();
    this.refresher = setInterval(() => void this.refresh(), REFRESH_EVERY_MS);
  }

  disconnectedCallback(): void {
    clearInterval(this.refresher);
  }

  /** Every panel at once; a read that fails says so here and leaves its panel as it was. */
  private async refresh(): Promise<void> {
    const reads = [this.readFlag(), this.readTimers(), this.readDeadLetters(), this.settings.refresh(), this.mechanics.refresh(), this.pending.refresh()];
    const failures = (await Promise.allSettled(reads)).filter((read) => read.status === 'rejected');
    this.error.textContent = failures.map((failure) => (failure.reason as Error).message).join('; ');
  }

  private async readFlag(): Promise<void> {
    const { Parameter } = await this.ssm.send(new GetParameterCommand({ Name: config.aws.flagParameterName }));
    this.flag.textContent = Parameter?.Value ?? '(none)';
    this.flagDetail.textContent = `version ${Parameter?.Version}, changed ${Parameter?.LastModifiedDate?.toISOString() ?? '—'}`;
  }

  private async setFlag(on: boolean): Promise<void> {
    try {
      await this.ssm.send(new PutParameterCommand({ Name: config.aws.flagParameterName, Value: on ? 'true' : 'false', Overwrite: true }));
      await this.readFlag();
    } catch (error) {
      this.error.textContent = (error as Error).message;
    }
  }

  private async readTimers(): Promise<void> {
    const { Schedules = [] } = await this.scheduler.send(new ListSchedulesCommand({ GroupName: config.aws.scheduleGroupName, MaxResults: MAX_TIMERS }));
    const rows = await Promise.all(
      Schedules.map(async ({ Name }) => {
        const schedule = await this.scheduler.send(new GetScheduleCommand({ GroupName: config.aws.scheduleGroupName, Name }));
        const input = JSON.parse(schedule.Target?.Input ?? '{}') as { due_at?: string };
        return h(
          'tr',
          { 'data-testid': 'ops-timer', 'data-name': Name ?? '' },
          h('td', {}, h('code', {}, Name ?? '')),
          h('td', {}, schedule.ScheduleExpression ?? ''),
          h('td', {}, input.due_at ?? '—'),
        );
      }),
    );
    this.timers.replaceChildren(...(rows.length ? rows : [h('tr', {}, h('td', { colspan: '3', class: 'muted' }, 'No timers: no request is pending.'))]));
  }

  private async readDeadLetters(): Promise<void> {
    const { count } = await call<{ count: number }>('GET', '/dev/dead-letters');
    this.deadLetters.textContent = String(count);
  }
}
