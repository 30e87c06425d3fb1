/** Reads the environment contract (contract/env.ts) the stack and the sandbox set. */
import type { EnvName } from '../contract/env';

/** Reads a required variable; a missing one is a deployment bug, so fail loudly at cold start. */
export function requireEnv(name: EnvName, env: NodeJS.ProcessEnv = process.env): string {
  const value = env[name];
  if (!value) throw new Error(`Missing environment variable ${name}`);
  return value;
}

export function numberEnv(name: EnvName, fallback: number, env: NodeJS.ProcessEnv = process.env): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isFinite(value) || value <= 0) throw new Error(`Environment variable ${name} must be a positive number, got "${raw}"`);
  return value;
}
