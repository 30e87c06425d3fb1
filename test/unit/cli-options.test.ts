/** `npm start`'s flags and their env vars: what the README documents, and a clear error naming the flag for a value that makes no sense. */
import { describe, expect, it } from 'vitest';
import { parseSandboxArgs, UsageError } from '../../sandbox/cli-options';

describe('parseSandboxArgs', () => {
  it('reads every flag', () => {
    // Act
    const options = parseSandboxArgs(
      [
        '--http-port',
        '0',
        '--ws-port',
        '3101',
        '--aws-port',
        '4666',
        '--priority-window',
        '30',
        '--flag',
        'on',
        '--flag-cache-ttl',
        '2',
        '--recovery-delay',
        '5',
        '--request-ttl',
        '90',
        '--max-open-bookings',
        '5',
        '--lambda-concurrency',
        '3',
        '--async-retry-delays',
        '0.5,1',
        '--scheduler-precision',
        'exact',
        '--in-memory',
        '--data-dir',
        '/tmp/x',
      ],
      {},
    );

    // Assert
    expect(options).toEqual({
      httpPort: 0,
      wsPort: 3101,
      awsPort: 4666,
      priorityWindowSeconds: 30,
      flagCacheTtlSeconds: 2,
      recoveryDelaySeconds: 5,
      requestTtlSeconds: 90,
      maxOpenBookingsPerCustomer: 5,
      lambdaConcurrency: 3,
      asyncRetryDelaysMs: [500, 1000],
      schedulerPrecision: 'exact',
      flag: 'on',
      inMemory: true,
      dataDir: '/tmp/x',
    });
  });

  it('falls back to the SANDBOX_* env vars, and a flag wins over its env var', () => {
    // Act
    const options = parseSandboxArgs(['--priority-window', '45'], {
      SANDBOX_PRIORITY_WINDOW: '99',
      SANDBOX_RECOVERY_DELAY: '7',
      SANDBOX_REQUEST_TTL: '120',
      SANDBOX_MAX_OPEN_BOOKINGS: '4',
      SANDBOX_ASYNC_RETRY_DELAYS: '60,120',
      SANDBOX_IN_MEMORY: '1',
      SANDBOX_FLAG: 'off',
      SANDBOX_SCHEDULER_PRECISION: 'exact',
    });

    // Assert
    expect(options).toMatchObject({
      priorityWindowSeconds: 45,
      recoveryDelaySeconds: 7,
      requestTtlSeconds: 120,
      maxOpenBookingsPerCustomer: 4,
      asyncRetryDelaysMs: [60_000, 120_000],
      inMemory: true,
      flag: 'off',
      schedulerPrecision: 'exact',
    });
    expect(parseSandboxArgs(['--scheduler-precision', 'aws'], { SANDBOX_SCHEDULER_PRECISION: 'exact' })).toMatchObject({ schedulerPrecision: 'aws' });
  });

  it('reads the throttles as rate/burst, each from its flag or env var, and --throttle off turns them all off', () => {
    // Act
    const options = parseSandboxArgs(['--intake-throttle', '0.5/2', '--accept-decline-throttle', '10/20', '--message-rate-limit', '4'], {
      SANDBOX_HTTP_THROTTLE: '50/60',
      SANDBOX_WS_THROTTLE: '300/400',
      SANDBOX_INTAKE_THROTTLE: '9/9',
    });

    // Assert
    expect(options).toMatchObject({
      throttles: {
        http: { rateLimit: 50, burstLimit: 60 },
        intake: { rateLimit: 0.5, burstLimit: 2 },
        webSocket: { rateLimit: 300, burstLimit: 400 },
        acceptDecline: { rateLimit: 10, burstLimit: 20 },
      },
      messageRateLimit: 4,
    });
    expect(parseSandboxArgs(['--intake-throttle', '1/1'], {})).toMatchObject({ throttles: { intake: { rateLimit: 1, burstLimit: 1 } } });
    expect(parseSandboxArgs(['--throttle', 'off'], {})).toMatchObject({ throttles: 'off' });
    expect(parseSandboxArgs([], { SANDBOX_THROTTLE: 'off' })).toMatchObject({ throttles: 'off' });
    expect(parseSandboxArgs(['--throttle', 'on'], {})).toMatchObject({ throttles: undefined });
  });

  it('leaves unset flags to the sandbox defaults', () => {
    expect(parseSandboxArgs([], {})).toEqual({
      httpPort: undefined,
      wsPort: undefined,
      awsPort: undefined,
      priorityWindowSeconds: undefined,
      flagCacheTtlSeconds: undefined,
      recoveryDelaySeconds: undefined,
      requestTtlSeconds: undefined,
      maxOpenBookingsPerCustomer: undefined,
      lambdaConcurrency: undefined,
      asyncRetryDelaysMs: undefined,
      schedulerPrecision: undefined,
      flag: undefined,
      throttles: undefined,
      messageRateLimit: undefined,
      inMemory: false,
      dataDir: undefined,
    });
    expect(parseSandboxArgs(['--help'], {})).toBe('help');
  });

  it.each([
    [['--recovery-delay', '0'], '--recovery-delay must be a whole number ≥ 1, got "0"'],
    [['--lambda-concurrency', '0'], '--lambda-concurrency must be a whole number ≥ 1, got "0"'],
    [['--request-ttl', 'soon'], '--request-ttl must be a whole number ≥ 1, got "soon"'],
    [['--max-open-bookings', '0'], '--max-open-bookings must be a whole number ≥ 1, got "0"'],
    [['--priority-window', '1.5'], '--priority-window must be a whole number ≥ 1, got "1.5"'],
    [['--async-retry-delays', '60'], '--async-retry-delays must be two waits in seconds, like 60,120; got "60"'],
    [['--async-retry-delays', '60,-1'], '--async-retry-delays must be two waits in seconds, like 60,120; got "60,-1"'],
    [['--flag', 'yes'], '--flag must be on or off, got "yes"'],
    [['--scheduler-precision', 'AWS'], '--scheduler-precision must be aws or exact, got "AWS"'],
    [['--throttle', 'no'], '--throttle must be on or off, got "no"'],
    [['--intake-throttle', '5'], '--intake-throttle must be <rate>/<burst> (requests per second / at once), like 100/200; got "5"'],
    [['--ws-throttle', '10/2.5'], '--ws-throttle must be <rate>/<burst> (requests per second / at once), like 100/200; got "10/2.5"'],
    [['--message-rate-limit', '0'], '--message-rate-limit must be a whole number ≥ 1, got "0"'],
  ])('refuses %j with a message naming the flag', (args, message) => {
    expect(() => parseSandboxArgs(args, {})).toThrow(new UsageError(message));
  });

  it('refuses an unknown flag', () => {
    expect(() => parseSandboxArgs(['--windw', '5'], {})).toThrow(UsageError);
  });
});
