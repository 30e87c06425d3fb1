/**
 * The sandbox's EventBridge Scheduler, driven by the real SDK client (and the
 * real CLI when installed): the API's shapes and exceptions, and schedules that
 * fire on time, retry, dead-letter, delete themselves and survive a restart.
 */
import { randomUUID } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  ConflictException,
  CreateScheduleCommand,
  CreateScheduleGroupCommand,
  DeleteScheduleCommand,
  DeleteScheduleGroupCommand,
  GetScheduleCommand,
  GetScheduleGroupCommand,
  ListScheduleGroupsCommand,
  ListSchedulesCommand,
  ResourceNotFoundException,
  SchedulerClient,
  UpdateScheduleCommand,
  ValidationException,
  paginateListSchedules,
  type CreateScheduleCommandInput,
} from '@aws-sdk/client-scheduler';
import { awsClis } from '../support/aws-cli';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startAwsEndpoint, type AwsEndpoint } from '../../sandbox/aws-endpoint';
import { SchedulerService, type SchedulerOptions } from '../../sandbox/scheduler';
import { SsmService } from '../../sandbox/ssm';

const credentials = { accessKeyId: 'test', secretAccessKey: 'test' };
const ROLE = 'arn:aws:iam::000000000000:role/scheduler';
const TICK_MS = 50;
/**
 * "On time": at most this long after the moment due. The scheduler checks every TICK_MS, and a loaded machine
 * delays any timer by up to a second or so; every moment these tests tell apart is tens of seconds away.
 */
const ON_TIME_MS = 2_000;

interface Call {
  arn: string;
  input: string;
  at: number;
}

/**
 * One scheduler behind its own endpoint, recording every invocation; `failures` says how often a target throws first.
 * It fires at the `at()` time itself (`exact`) unless `options` say otherwise: most tests time a schedule to the second.
 */
interface Harness {
  dataDir: string;
  service: SchedulerService;
  endpoint: AwsEndpoint;
  client: SchedulerClient;
  calls: Call[];
  logs: string[];
  failures: Map<string, number>;
  slowMs: Map<string, number>;
  close(): Promise<void>;
}

async function harness(
  dataDir = mkdtempSync(join(tmpdir(), 'scheduler-test-')),
  start = true,
  options: Pick<SchedulerOptions, 'precision' | 'random'> = {},
): Promise<Harness> {
  const calls: Call[] = [];
  const logs: string[] = [];
  const failures = new Map<string, number>();
  const slowMs = new Map<string, number>();
  const service = new SchedulerService({
    dataDir,
    tickMs: TICK_MS,
    retryBaseDelayMs: 20,
    precision: 'exact',
    ...options,
    log: (line) => logs.push(line),
    invoke: async (arn, input) => {
      calls.push({ arn, input, at: Date.now() });
      const delay = slowMs.get(arn);
      if (delay) await new Promise((resolve) => setTimeout(resolve, delay));
      const left = failures.get(arn) ?? 0;
      if (left > 0) {
        failures.set(arn, left - 1);
        throw new Error(`${arn} failed`);
      }
    },
  });
  if (start) service.start();
  const endpoint = await startAwsEndpoint({ port: 0, services: { ssm: new SsmService({}).handle, scheduler: service.handle } });
  const client = new SchedulerClient({ endpoint: endpoint.url, region: 'us-east-1', credentials });
  return {
    dataDir,
    service,
    endpoint,
    client,
    calls,
    logs,
    failures,
    slowMs,
    close: async () => {
      client.destroy();
      await service.stop();
      await endpoint.close();
    },
  };
}

let h: Harness;
const dirs: string[] = [];

beforeAll(async () => {
  h = await harness();
  dirs.push(h.dataDir);
});

afterAll(async () => {
  await h?.close();
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

const unique = (label: string): string => `${label}-${randomUUID().slice(0, 8)}`;
const functionArn = (name: string): string => `arn:aws:lambda:us-east-1:000000000000:function:${name}`;
/** `at()` takes whole seconds in the schedule's time zone (UTC here). */
const atExpression = (time: number): string => `at(${new Date(time).toISOString().slice(0, 19)})`;
/** The next whole second at least a second away: a time that has not come yet. */
const soon = (): number => Math.ceil((Date.now() + 1000) / 1000) * 1000;
/** The current whole second: a time that has already come. */
const now = (): number => Math.floor(Date.now() / 1000) * 1000;

function oneShot(name: string, at: number, overrides: Partial<CreateScheduleCommandInput> = {}): CreateScheduleCommandInput {
  return {
    Name: name,
    ScheduleExpression: atExpression(at),
    ScheduleExpressionTimezone: 'UTC',
    FlexibleTimeWindow: { Mode: 'OFF' },
    Target: { Arn: functionArn(name), RoleArn: ROLE, Input: JSON.stringify({ schedule: name }) },
    ...overrides,
  };
}

/** Polls until `check` returns a value (not undefined/false) or the deadline passes. */
async function eventually<T>(check: () => T | undefined | false | Promise<T | undefined | false>, what: string, timeoutMs = 5_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined && value !== false) return value;
    if (Date.now() > deadline) throw new Error(`Timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

const callsTo = (harness: Harness, name: string): Call[] => harness.calls.filter((call) => call.arn === functionArn(name));
const exists = (harness: Harness, name: string, groupName?: string): Promise<boolean> =>
  harness.client.send(new GetScheduleCommand({ Name: name, GroupName: groupName })).then(
    () => true,
    (error: unknown) => {
      if (error instanceof ResourceNotFoundException) return false;
      throw error;
    },
  );
/** The firing state the scheduler persists: AWS has no API that shows when a schedule will fire. */
const storedRun = (harness: Harness, name: string): { dueAt: number; completed: boolean } =>
  (JSON.parse(readFileSync(join(harness.dataDir, 'schedules.json'), 'utf8')) as { schedules: Record<string, { run: { dueAt: number; completed: boolean } }> })
    .schedules[`default/${name}`]!.run;

describe('schedules API', () => {
  it('creates, reads, lists, updates and deletes a schedule', async () => {
    const name = unique('crud');
    const far = Date.UTC(2099, 0, 1);

    const created = await h.client.send(new CreateScheduleCommand(oneShot(name, far, { Description: 'first', ActionAfterCompletion: 'DELETE' })));
    const got = await h.client.send(new GetScheduleCommand({ Name: name }));
    const listed = await h.client.send(new ListSchedulesCommand({ NamePrefix: name }));
    const startDate = new Date('2099-02-01T00:00:00Z');
    const endDate = new Date('2099-03-01T12:30:00.500Z');
    await h.client.send(
      new UpdateScheduleCommand({ ...oneShot(name, far), ScheduleExpression: 'rate(5 minutes)', State: 'DISABLED', StartDate: startDate, EndDate: endDate }),
    );
    const updated = await h.client.send(new GetScheduleCommand({ Name: name, GroupName: 'default' }));
    await h.client.send(new DeleteScheduleCommand({ Name: name }));

    expect(created.ScheduleArn).toBe(`arn:aws:scheduler:us-east-1:000000000000:schedule/default/${name}`);
    expect(got).toMatchObject({
      Arn: created.ScheduleArn,
      Name: name,
      GroupName: 'default',
      ScheduleExpression: 'at(2099-01-01T00:00:00)',
      ScheduleExpressionTimezone: 'UTC',
      Description: 'first',
      State: 'ENABLED',
      ActionAfterCompletion: 'DELETE',
      FlexibleTimeWindow: { Mode: 'OFF' },
      Target: {
        Arn: functionArn(name),
        RoleArn: ROLE,
        Input: JSON.stringify({ schedule: name }),
        RetryPolicy: { MaximumRetryAttempts: 185, MaximumEventAgeInSeconds: 86400 },
      },
    });
    expect(got.CreationDate).toBeInstanceOf(Date);
    expect(Math.abs(got.CreationDate!.getTime() - Date.now())).toBeLessThan(5_000);
    expect(got.LastModificationDate).toBeInstanceOf(Date);
    expect(listed.Schedules).toEqual([
      {
        Arn: created.ScheduleArn,
        Name: name,
        GroupName: 'default',
        State: 'ENABLED',
        CreationDate: got.CreationDate,
        LastModificationDate: got.LastModificationDate,
        Target: { Arn: functionArn(name) },
      },
    ]);
    // UpdateSchedule replaces the definition: the omitted Description and ActionAfterCompletion go back to defaults.
    expect(updated).toMatchObject({
      ScheduleExpression: 'rate(5 minutes)',
      State: 'DISABLED',
      ActionAfterCompletion: 'NONE',
      CreationDate: got.CreationDate,
      StartDate: startDate,
      EndDate: endDate,
    });
    expect(updated.Description).toBeUndefined();
    expect(await exists(h, name)).toBe(false);
    expect(h.logs.some((line) => line.includes(`created default/${name}`))).toBe(true);
  });

  it('pages ListSchedules and filters by state', async () => {
    const prefix = unique('page');
    for (const n of [1, 2, 3])
      await h.client.send(new CreateScheduleCommand(oneShot(`${prefix}-${n}`, Date.UTC(2099, 0, 1), { State: n === 2 ? 'DISABLED' : 'ENABLED' })));

    const pages = [];
    for await (const page of paginateListSchedules({ client: h.client, pageSize: 2 }, { NamePrefix: prefix })) pages.push(page);
    const disabled = await h.client.send(new ListSchedulesCommand({ NamePrefix: prefix, State: 'DISABLED' }));

    expect(pages.map((page) => page.Schedules!.length)).toEqual([2, 1]);
    expect(disabled.Schedules!.map((schedule) => schedule.Name)).toEqual([`${prefix}-2`]);
  });

  it('raises ConflictException for a name taken in the same group, not in another group', async () => {
    const name = unique('taken');
    const group = unique('group');
    await h.client.send(new CreateScheduleGroupCommand({ Name: group }));
    await h.client.send(new CreateScheduleCommand(oneShot(name, Date.UTC(2099, 0, 1))));

    const again = await h.client.send(new CreateScheduleCommand(oneShot(name, Date.UTC(2099, 0, 1)))).catch((error: unknown) => error);
    const elsewhere = await h.client.send(new CreateScheduleCommand(oneShot(name, Date.UTC(2099, 0, 1), { GroupName: group })));

    expect(again).toBeInstanceOf(ConflictException);
    expect((again as ConflictException).$metadata.httpStatusCode).toBe(409);
    expect(elsewhere.ScheduleArn).toBe(`arn:aws:scheduler:us-east-1:000000000000:schedule/${group}/${name}`);
  });

  it('raises ResourceNotFoundException for an unknown schedule or group', async () => {
    const name = unique('nothing');

    const get = await h.client.send(new GetScheduleCommand({ Name: name })).catch((error: unknown) => error);
    const del = await h.client.send(new DeleteScheduleCommand({ Name: name })).catch((error: unknown) => error);
    const update = await h.client.send(new UpdateScheduleCommand(oneShot(name, Date.UTC(2099, 0, 1)))).catch((error: unknown) => error);
    const inUnknownGroup = await h.client
      .send(new CreateScheduleCommand(oneShot(name, Date.UTC(2099, 0, 1), { GroupName: unique('nogroup') })))
      .catch((error: unknown) => error);

    for (const error of [get, del, update, inUnknownGroup]) {
      expect(error).toBeInstanceOf(ResourceNotFoundException);
      expect((error as ResourceNotFoundException).$metadata.httpStatusCode).toBe(404);
    }
    expect((get as Error).message).toBe(`Schedule ${name} does not exist.`);
  });

  it('raises ValidationException for a bad expression, name, time zone or a missing window or target', async () => {
    const name = unique('invalid');
    const invalid: CreateScheduleCommandInput[] = [
      oneShot(name, 0, { ScheduleExpression: 'at(tomorrow)' }),
      oneShot(name, 0, { ScheduleExpression: 'cron(0 12 * * * *)' }),
      oneShot(name, 0, { ScheduleExpression: 'rate(0 minutes)' }),
      oneShot('not/a name', Date.UTC(2099, 0, 1)),
      oneShot('x'.repeat(65), Date.UTC(2099, 0, 1)),
      oneShot(name, Date.UTC(2099, 0, 1), { ScheduleExpressionTimezone: 'Mars/Olympus_Mons' }),
      oneShot(name, Date.UTC(2099, 0, 1), { FlexibleTimeWindow: undefined }),
      oneShot(name, Date.UTC(2099, 0, 1), { Target: undefined }),
      oneShot(name, Date.UTC(2099, 0, 1), { Target: { Arn: functionArn(name), RoleArn: ROLE, RetryPolicy: { MaximumRetryAttempts: 500 } } }),
    ];

    for (const input of invalid) {
      const error = await h.client.send(new CreateScheduleCommand(input)).catch((caught: unknown) => caught);
      expect(error, JSON.stringify(input)).toBeInstanceOf(ValidationException);
    }
    expect(await exists(h, name)).toBe(false);
  });
});

describe('schedule groups', () => {
  it('always has a default group, creates and lists others, and deletes a group with its schedules', async () => {
    const group = unique('group');
    const name = unique('member');

    const created = await h.client.send(new CreateScheduleGroupCommand({ Name: group }));
    await h.client.send(new CreateScheduleCommand(oneShot(name, Date.UTC(2099, 0, 1), { GroupName: group })));
    const got = await h.client.send(new GetScheduleGroupCommand({ Name: group }));
    const groups = await h.client.send(new ListScheduleGroupsCommand({}));
    const duplicate = await h.client.send(new CreateScheduleGroupCommand({ Name: group })).catch((error: unknown) => error);
    await h.client.send(new DeleteScheduleGroupCommand({ Name: group }));

    expect(created.ScheduleGroupArn).toBe(`arn:aws:scheduler:us-east-1:000000000000:schedule-group/${group}`);
    expect(got).toMatchObject({ Arn: created.ScheduleGroupArn, Name: group, State: 'ACTIVE' });
    expect(got.CreationDate).toBeInstanceOf(Date);
    expect(groups.ScheduleGroups!.map((entry) => entry.Name)).toEqual(expect.arrayContaining(['default', group]));
    expect(duplicate).toBeInstanceOf(ConflictException);
    expect(await exists(h, name, group)).toBe(false);
    await expect(h.client.send(new GetScheduleGroupCommand({ Name: group }))).rejects.toBeInstanceOf(ResourceNotFoundException);
    await expect(h.client.send(new DeleteScheduleGroupCommand({ Name: 'default' }))).rejects.toBeInstanceOf(ValidationException);
  });
});

describe('firing', () => {
  it('fires an at() schedule on time (within ON_TIME_MS) with its input, then deletes it (ActionAfterCompletion DELETE)', async () => {
    const name = unique('ontime');
    const at = soon();

    await h.client.send(new CreateScheduleCommand(oneShot(name, at, { ActionAfterCompletion: 'DELETE' })));
    expect(await exists(h, name)).toBe(true);
    const [call] = await eventually(() => callsTo(h, name).length > 0 && callsTo(h, name), 'the schedule to fire');

    expect(call!.input).toBe(JSON.stringify({ schedule: name }));
    expect(call!.at).toBeGreaterThanOrEqual(at);
    expect(call!.at - at).toBeLessThan(ON_TIME_MS);
    await eventually(async () => !(await exists(h, name)), 'the schedule to delete itself');
    expect(h.logs.some((line) => line.includes(`deleted default/${name} after completion`))).toBe(true);
  });

  it('keeps a completed schedule (ActionAfterCompletion NONE) listable and never fires it again', async () => {
    const name = unique('once');

    await h.client.send(new CreateScheduleCommand(oneShot(name, now(), { Target: { Arn: functionArn(name), RoleArn: ROLE } })));
    await eventually(() => callsTo(h, name).length > 0, 'the schedule to fire');
    await new Promise((resolve) => setTimeout(resolve, TICK_MS * 4));

    expect(callsTo(h, name).map((call) => call.input)).toEqual(['{}']);
    expect(await exists(h, name)).toBe(true);
  });

  it('fires a completed schedule (ActionAfterCompletion NONE) again when UpdateSchedule gives it a new at()', async () => {
    const name = unique('again');
    await h.client.send(new CreateScheduleCommand(oneShot(name, now())));
    await eventually(() => storedRun(h, name).completed, 'the first firing to complete');

    const again = soon();
    await h.client.send(new UpdateScheduleCommand(oneShot(name, again)));
    const calls = await eventually(() => callsTo(h, name).length === 2 && callsTo(h, name), 'the second firing');

    expect(calls[1]!.at).toBeGreaterThanOrEqual(again);
    expect(calls[1]!.at - again).toBeLessThan(ON_TIME_MS);
  });

  it('reads at() in the schedule time zone', async () => {
    const name = unique('zone');
    // The current wall-clock time in Kolkata: due now there, five and a half hours away in UTC.
    const kolkata = new Date(now() + 5.5 * 3600_000).toISOString().slice(0, 19);

    await h.client.send(new CreateScheduleCommand(oneShot(name, 0, { ScheduleExpression: `at(${kolkata})`, ScheduleExpressionTimezone: 'Asia/Kolkata' })));

    await eventually(() => callsTo(h, name).length > 0, 'the schedule to fire');
  });

  it('retries a failed invocation with back-off and then completes', async () => {
    const name = unique('flaky');
    h.failures.set(functionArn(name), 1);

    await h.client.send(new CreateScheduleCommand(oneShot(name, now(), { ActionAfterCompletion: 'DELETE' })));
    await eventually(async () => callsTo(h, name).length === 2 && !(await exists(h, name)), 'the retry to succeed');

    expect(h.logs.some((line) => line.includes(`retry of default/${name} scheduled`))).toBe(true);
    expect(h.service.deadLetters().some((letter) => letter.schedule_name === name)).toBe(false);
  });

  it('dead-letters after MaximumRetryAttempts retries', async () => {
    const name = unique('broken');
    const dlq = 'arn:aws:sqs:us-east-1:000000000000:fallback-dlq';
    h.failures.set(functionArn(name), Infinity);

    await h.client.send(
      new CreateScheduleCommand(
        oneShot(name, now(), {
          Target: { Arn: functionArn(name), RoleArn: ROLE, Input: '{"n":1}', RetryPolicy: { MaximumRetryAttempts: 2 }, DeadLetterConfig: { Arn: dlq } },
        }),
      ),
    );
    const letter = await eventually(() => h.service.deadLetters().find((entry) => entry.schedule_name === name), 'the dead letter');

    expect(letter).toMatchObject({
      schedule_name: name,
      group: 'default',
      target_arn: functionArn(name),
      dead_letter_arn: dlq,
      input: '{"n":1}',
      attempts: 3,
      error: `${functionArn(name)} failed`,
    });
    expect(callsTo(h, name)).toHaveLength(3);
    const persisted = JSON.parse(readFileSync(join(h.dataDir, 'dead-letters.json'), 'utf8')) as { schedule_name: string }[];
    expect(persisted.some((entry) => entry.schedule_name === name)).toBe(true);
    expect(h.logs.some((line) => line.includes(`dead-lettered default/${name} after 3 attempts`))).toBe(true);
    // Its one invocation is over: the schedule stays (NONE) but does not fire again.
    await new Promise((resolve) => setTimeout(resolve, TICK_MS * 4));
    expect(callsTo(h, name)).toHaveLength(3);
  });

  it('fires a schedule whose time passed while the sandbox was down, once it starts again', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'scheduler-restart-'));
    dirs.push(dataDir);
    const name = unique('missed');
    const before = await harness(dataDir, false);
    await before.client.send(new CreateScheduleCommand(oneShot(name, now(), { ActionAfterCompletion: 'DELETE' })));
    await before.close();

    const after = await harness(dataDir, false);
    try {
      await new Promise((resolve) => setTimeout(resolve, TICK_MS * 2));
      expect(after.calls).toHaveLength(0);
      after.service.start();

      await eventually(() => callsTo(after, name).length > 0, 'the missed schedule to fire');
      await eventually(async () => !(await exists(after, name)), 'the schedule to delete itself');
      expect(before.calls).toHaveLength(0);
    } finally {
      await after.close();
    }
  });

  it('stop() waits for the firing under way and fires nothing afterwards', async () => {
    const own = await harness();
    dirs.push(own.dataDir);
    try {
      const slow = unique('slow');
      const later = unique('later');
      own.slowMs.set(functionArn(slow), 200);
      await own.client.send(new CreateScheduleCommand(oneShot(slow, now(), { ActionAfterCompletion: 'DELETE' })));
      await eventually(() => callsTo(own, slow).length > 0, 'the slow firing to start');

      await own.service.stop();
      expect(await exists(own, slow)).toBe(false); // its completion was recorded before stop() returned
      await own.client.send(new CreateScheduleCommand(oneShot(later, now())));
      await new Promise((resolve) => setTimeout(resolve, TICK_MS * 4));

      expect(callsTo(own, later)).toHaveLength(0);
    } finally {
      await own.close();
    }
  });
});

describe('precision', () => {
  const MINUTE = 60_000;
  const minuteOf = (time: number): number => Math.floor(time / MINUTE) * MINUTE;
  /** The draw that lands on `time` (the half millisecond keeps floating-point error from flooring it a millisecond early). */
  const drawFor = (time: number): number => (time - minuteOf(time) + 0.5) / MINUTE;

  async function withHarness(options: Pick<SchedulerOptions, 'precision' | 'random'>, test: (own: Harness) => Promise<void>): Promise<void> {
    const own = await harness(undefined, true, options);
    dirs.push(own.dataDir);
    try {
      await test(own);
    } finally {
      await own.close();
    }
  }

  it('aws: draws the moment once, inside the minute of at(hh:mm:30): draw 0 is 30 s before it, 0.999 is 29.94 s after', async () => {
    let draw = 0;
    await withHarness({ precision: 'aws', random: () => draw }, async (own) => {
      const [early, late] = [unique('early'), unique('late')];
      const at = Date.UTC(2099, 0, 1, 12, 0, 30);

      await own.client.send(new CreateScheduleCommand(oneShot(early, at)));
      draw = 0.999;
      await own.client.send(new CreateScheduleCommand(oneShot(late, at)));

      expect(storedRun(own, early).dueAt).toBe(at - 30_000);
      expect(storedRun(own, late).dueAt).toBe(at + 29_940);
      expect((await own.client.send(new GetScheduleCommand({ Name: late }))).ScheduleExpression).toBe('at(2099-01-01T12:00:30)');
    });
  });

  it('aws: fires at the drawn moment, not at at()', async () => {
    const fireAt = soon();
    await withHarness({ precision: 'aws', random: () => drawFor(fireAt) }, async (own) => {
      const name = unique('drawn');
      // An at() in the same minute, at least 29 s from the drawn moment.
      const at = fireAt - minuteOf(fireAt) < 30_000 ? minuteOf(fireAt) + 59_000 : minuteOf(fireAt);

      await own.client.send(new CreateScheduleCommand(oneShot(name, at)));
      const [call] = await eventually(() => callsTo(own, name).length > 0 && callsTo(own, name), 'the schedule to fire');

      expect(call!.at).toBeGreaterThanOrEqual(fireAt);
      expect(call!.at - fireAt).toBeLessThan(ON_TIME_MS);
      expect(Math.abs(call!.at - at)).toBeGreaterThan(29_000);
    });
  });

  it('aws: a drawn moment already past fires at the next tick, even before at()', async () => {
    await withHarness({ precision: 'aws', random: () => 0 }, async (own) => {
      const name = unique('passed');
      // Later this minute, and far enough ahead that "at once" and "at at()" cannot be confused: in the last 10 s
      // of a minute, wait for the next one. Draw 0 picks the minute's start, which has passed.
      const intoMinute = Date.now() - minuteOf(Date.now());
      if (intoMinute > 49_000) await new Promise((resolve) => setTimeout(resolve, MINUTE - intoMinute));
      const at = minuteOf(Date.now()) + 59_000;
      const created = Date.now();

      await own.client.send(new CreateScheduleCommand(oneShot(name, at)));
      const [call] = await eventually(() => callsTo(own, name).length > 0 && callsTo(own, name), 'the schedule to fire');

      expect(call!.at - created).toBeLessThan(ON_TIME_MS);
      expect(call!.at).toBeLessThan(at);
    });
  });

  it('exact: fires at at() itself, whatever the draw', async () => {
    await withHarness({ precision: 'exact', random: () => 0 }, async (own) => {
      const name = unique('exact');
      const at = soon();

      await own.client.send(new CreateScheduleCommand(oneShot(name, at)));
      const [call] = await eventually(() => callsTo(own, name).length > 0 && callsTo(own, name), 'the schedule to fire');

      expect(call!.at).toBeGreaterThanOrEqual(at);
      expect(call!.at - at).toBeLessThan(ON_TIME_MS);
    });
  });

  it('keeps the drawn moment across a restart instead of drawing again', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'scheduler-precision-'));
    dirs.push(dataDir);
    const name = unique('kept');
    const fireAt = soon();
    const before = await harness(dataDir, false, { precision: 'aws', random: () => drawFor(fireAt) });
    await before.client.send(new CreateScheduleCommand(oneShot(name, minuteOf(fireAt) + 30_000)));
    await before.close();

    // A new draw of 0 would pick the minute's start, already past, and fire at once.
    const after = await harness(dataDir, true, { precision: 'aws', random: () => 0 });
    try {
      const [call] = await eventually(() => callsTo(after, name).length > 0 && callsTo(after, name), 'the schedule to fire');

      expect(call!.at).toBeGreaterThanOrEqual(fireAt);
    } finally {
      await after.close();
    }
  });
});

const clis = awsClis();

describe('the real AWS CLI', () => {
  it.skipIf(clis.length === 0)('flips a flag with `aws ssm` and lists schedules with `aws scheduler` (every installed CLI)', async () => {
    for (const cli of clis) {
      const group = unique('cli');
      const name = unique('cli-schedule');
      const flag = `/cli/${randomUUID()}/ENABLE`;
      await h.client.send(new CreateScheduleGroupCommand({ Name: group }));
      await h.client.send(new CreateScheduleCommand(oneShot(name, Date.UTC(2099, 0, 1), { GroupName: group })));

      const put = await cli.run(h.endpoint.url, ['ssm', 'put-parameter', '--name', flag, '--value', 'true', '--type', 'String', '--overwrite']);
      const list = await cli.run(h.endpoint.url, ['scheduler', 'list-schedules', '--group-name', group]);

      expect(put.code, `${cli.label}: ${put.stderr}`).toBe(0);
      expect(JSON.parse(put.stdout), cli.label).toMatchObject({ Version: 1 });
      expect(list.code, `${cli.label}: ${list.stderr}`).toBe(0);
      expect(JSON.parse(list.stdout).Schedules, cli.label).toMatchObject([
        { Name: name, GroupName: group, State: 'ENABLED', Target: { Arn: functionArn(name) } },
      ]);
    }
  });
});
