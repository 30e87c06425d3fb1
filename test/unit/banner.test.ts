/** `npm start`'s banner: one screen (it was 30 lines up to 712 columns, 91 rows on an 80-column terminal, six JWTs included) with what a newcomer needs. */
import { describe, expect, it } from 'vitest';
import { banner, type BannerInput } from '../../sandbox/banner';
import { DEMO } from '../../sandbox/seed';

const input = (overrides: Partial<BannerInput> = {}): BannerInput => ({
  sandbox: {
    httpUrl: 'http://127.0.0.1:3000',
    wsUrl: 'ws://127.0.0.1:3001/local',
    connectionsEndpoint: 'http://127.0.0.1:3001/local',
    awsUrl: 'http://127.0.0.1:4566',
    flagParameterName: '/priority-dispatch/local/ENABLE_FAVORITES_PRIORITY',
    stage: 'local',
    // A deep checkout: the longest line the banner prints for most people.
    dataDir: '/home/someone/src/github.com/acme/priority-dispatch/.sandbox',
    demo: DEMO,
  },
  options: {},
  flagOn: false,
  startedInSeconds: 9.5,
  ...overrides,
});

describe('banner', () => {
  it('fits one screen, 24 lines of 100 columns, with every option that adds a line', () => {
    // Act
    const lines = banner(input({ options: { schedulerPrecision: 'exact', throttles: 'off' }, consoleUrl: 'http://127.0.0.1:3000/console/' })).split('\n');

    // Assert (cli.ts adds a blank line before and after)
    expect(lines.length + 2).toBeLessThanOrEqual(24);
    expect(Math.max(...lines.map((line) => line.length))).toBeLessThanOrEqual(100);
  });

  it('prints the endpoints, the flag, the window and expiry in effect, and the demo ids with their status', () => {
    // Act
    const text = banner(input({ flagOn: true, options: { priorityWindowSeconds: 30, requestTtlSeconds: 90 } }));

    // Assert
    for (const address of [
      'http://127.0.0.1:3000',
      'ws://127.0.0.1:3001/local?ticket=<from POST /ws/ticket> (or ?token=<JWT>)',
      'http://127.0.0.1:3001/local/@connections/{id}',
      'http://127.0.0.1:4566',
    ])
      expect(text).toContain(address);
    expect(text).toContain('Flag           /priority-dispatch/local/ENABLE_FAVORITES_PRIORITY = true');
    expect(text).toContain('Window         30 s per favorite; an open request expires after 90 s');
    expect(text).toContain('customer-demo');
    expect(text).toMatch(/mech-dave +pending/);
    expect(text).toMatch(/mech-erin +approved +ws-downtown/);
  });

  it('shows the defaults when no option is given, and the scheduler and the throttles only when they are not AWS-like', () => {
    // Act
    const text = banner(input());

    // Assert
    expect(text).toContain('Flag           /priority-dispatch/local/ENABLE_FAVORITES_PRIORITY = false');
    expect(text).toContain('Window         600 s per favorite; an open request expires after 1800 s');
    expect(text).not.toContain('Unlike AWS');
    expect(banner(input({ options: { throttles: { intake: { rateLimit: 9, burstLimit: 9 } } } }))).not.toContain('Unlike AWS');
    expect(banner(input({ options: { schedulerPrecision: 'exact' } }))).toContain('Unlike AWS     schedules fire at their time (AWS: within its minute)\n');
    expect(banner(input({ options: { throttles: 'off' } }))).toContain('Unlike AWS     no route throttles\n');
    expect(banner(input({ options: { schedulerPrecision: 'exact', throttles: 'off' } }))).toContain(
      'Unlike AWS     schedules fire at their time (AWS: within its minute); no route throttles\n',
    );
  });

  it('says how to get a token, customer or admin, and prints none', () => {
    // Act
    const text = banner(input());

    // Assert
    expect(text).toContain(`curl -s http://127.0.0.1:3000/dev/token -d '{"sub":"mech-alice"}'`);
    expect(text).toContain(`curl -s http://127.0.0.1:3000/dev/token -d '{"sub":"ops","scope":"admin"}'`);
    expect(text).not.toMatch(/eyJ[\w-]+\./); // a JWT's header
  });

  it('prints no console line until the sandbox serves one', () => {
    expect(banner(input())).not.toContain('Console');
    expect(banner(input({ consoleUrl: 'http://127.0.0.1:3000/console/' }))).toContain('Console        http://127.0.0.1:3000/console/');
  });
});
