/** The Clock port on the machine's clock (tests inject their own). */
import type { Clock } from '../ports';

export const systemClock: Clock = { now: (): Date => new Date() };
