/**
 * Test tiers, each a vitest project (`npm test` runs them all; `npx vitest run --project <tier>` one):
 * - unit: pure domain, schemas and use cases on in-memory ports; no dynalite, sockets or child processes.
 * - integration, handlers, sandbox, e2e: real wires (dynalite, the sandbox's emulators, real ws clients).
 * - infra: the CDK template, cdk-nag and a real `cdk synth` with bundling.
 */
import { defineConfig } from 'vitest/config';

const DYNALITE = ['test/support/global-setup.ts'];

export default defineConfig({
  test: {
    // Generous: polls return as soon as their outcome arrives, so only a failing test waits this long;
    // a loaded machine may make a passing one slow, never failing.
    testTimeout: 120_000,
    hookTimeout: 120_000,
    // Three files at a time on 2 cores: most e2e files wait (on windows, timers, restarts) more than they compute.
    // Measured on the 2-core machine: 2 workers 661 s, 3 workers 565 s, 4 workers 535 s (with load averages of 10,
    // where timings, never results, move). Three keeps the infra synth's and Chromium's CPU from crowding the rest.
    maxWorkers: 3,
    projects: [
      { extends: true, test: { name: 'unit', include: ['test/unit/**/*.test.ts'] } },
      { extends: true, test: { name: 'integration', include: ['test/integration/**/*.test.ts'], globalSetup: DYNALITE } },
      { extends: true, test: { name: 'handlers', include: ['test/handlers/**/*.test.ts'], globalSetup: DYNALITE } },
      { extends: true, test: { name: 'sandbox', include: ['test/sandbox/**/*.test.ts'], globalSetup: DYNALITE } },
      { extends: true, test: { name: 'e2e', include: ['test/e2e/**/*.test.ts'], globalSetup: DYNALITE } },
      { extends: true, test: { name: 'infra', include: ['test/infra/**/*.test.ts'] } },
    ],
  },
});
