/**
 * Demo data on first start, created through the front door (the admin route
 * of the HTTP API), so a newcomer has someone to book and mechanics to connect as.
 */
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { TokenRequest } from './dev-auth';

export interface DemoMechanic {
  readonly id: string;
  readonly name: string;
  readonly status: 'approved' | 'pending' | 'suspended';
  readonly workshop_id: string | null;
}

export interface DemoData {
  readonly customerId: string;
  readonly mechanics: readonly DemoMechanic[];
}

export const DEMO: DemoData = {
  customerId: 'customer-demo',
  mechanics: [
    { id: 'mech-alice', name: 'Alice (the favorite)', status: 'approved', workshop_id: null },
    { id: 'mech-bob', name: 'Bob', status: 'approved', workshop_id: null },
    { id: 'mech-carol', name: 'Carol', status: 'approved', workshop_id: null },
    { id: 'mech-erin', name: 'Erin (Downtown Garage)', status: 'approved', workshop_id: 'ws-downtown' },
    { id: 'mech-dave', name: 'Dave (awaiting approval)', status: 'pending', workshop_id: null },
  ],
};

export async function seedDemoData(options: {
  httpUrl: string;
  token: (request: TokenRequest) => Promise<string>;
  dataDir: string | undefined;
  skip?: boolean;
}): Promise<DemoData> {
  const marker = options.dataDir ? join(options.dataDir, 'seeded.json') : undefined;
  if (options.skip || (marker && existsSync(marker))) return DEMO;
  const admin = await options.token({ sub: 'sandbox-admin', scope: 'admin' });
  for (const mechanic of DEMO.mechanics) {
    const response = await fetch(`${options.httpUrl}/mechanics/${mechanic.id}`, {
      method: 'PUT',
      headers: { authorization: `Bearer ${admin}`, 'content-type': 'application/json' },
      body: JSON.stringify({ status: mechanic.status, name: mechanic.name, workshop_id: mechanic.workshop_id }),
    });
    if (!response.ok) throw new Error(`Seeding ${mechanic.id} failed: ${response.status} ${await response.text()}`);
  }
  if (marker) writeFileSync(marker, JSON.stringify({ seeded_at: new Date().toISOString(), ...DEMO }, null, 2));
  return DEMO;
}
