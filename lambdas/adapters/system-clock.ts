/** The Clock port on the machine's clock (tests inject their own). */
import { setTimeout as sleep } from 'node:timers/promises';
import type { Clock } from '../ports';

export const systemClock: Clock = { now: (): Date => new Date(), sleep: async (ms: number): Promise<void> => void (await sleep(ms)) };
