/**
 * The lifecycle table (lambdas/domain/lifecycle.ts): the README's diagram
 * draws exactly its transitions, and the timer's reading of it (`dueWork`,
 * `nextDeadline`) does the one thing due in each state. The guards themselves
 * are checked against DynamoDB, transition by transition, in the store
 * contract (test/support/store-contract.ts).
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import {
  type BookingState,
  dueWork,
  type LifecycleEvent,
  nextDeadline,
  STATE_MEANING,
  STATES,
  TERMINAL_STATES,
  TRANSITIONS,
} from '../../lambdas/domain/lifecycle';

const T0 = '2026-11-24T12:00:00.000Z';

/** `from --> to: event` lines of the README's stateDiagram under "The flow". */
function readmeEdges(): string[] {
  const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');
  const flow = readme.slice(readme.indexOf('## The flow'));
  const diagram = flow.slice(flow.indexOf('```mermaid'), flow.indexOf('```', flow.indexOf('```mermaid') + 3));
  return diagram
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => /^\S+ --> \S+: \w+$/.test(line))
    .sort();
}

function tableEdges(): string[] {
  return (Object.entries(TRANSITIONS) as [LifecycleEvent, (typeof TRANSITIONS)[LifecycleEvent]][])
    .flatMap(([event, transition]) => transition.guard.from.map((from) => `${from === 'new' ? '[*]' : from} --> ${transition.to}: ${event}`))
    .sort();
}

describe('the lifecycle table', () => {
  it("the README's flow diagram draws exactly the table's transitions", () => {
    expect(readmeEdges()).toEqual(tableEdges());
  });

  it("the README's state table says what each state means, as the table does", () => {
    const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');
    const flow = readme.slice(readme.indexOf('## The flow'), readme.indexOf('\n## ', readme.indexOf('## The flow') + 1));
    const rows = Object.fromEntries([...flow.matchAll(/^\| `(\w+)` +\| (.+?) +\|$/gm)].map(([, state, meaning]) => [state, meaning]));
    expect(Object.fromEntries(STATES.map((state) => [state, rows[state]]))).toEqual(STATE_MEANING);
  });

  it('every state is reached and every non-terminal state can end; terminal states have no way out', () => {
    const targets = new Set(Object.values(TRANSITIONS).map((t) => t.to));
    const sources = new Set(Object.values(TRANSITIONS).flatMap((t) => t.guard.from));
    expect(STATES.filter((state) => !targets.has(state))).toEqual([]);
    expect(TERMINAL_STATES.filter((state) => sources.has(state))).toEqual([]);
    for (const state of STATES.filter((s) => !TERMINAL_STATES.includes(s))) expect(TRANSITIONS.cancelled.guard.from).toContain(state);
  });

  it('every transition is one write, and a transition that enters routing arms the timer before it (except a redirect inside routing)', () => {
    for (const [event, transition] of Object.entries(TRANSITIONS)) {
      expect(
        transition.effects.filter((effect) => effect === 'write'),
        event,
      ).toHaveLength(1);
      const entersRouting = transition.to === 'routing' && !transition.guard.from.includes('routing');
      if (entersRouting) expect(transition.effects.indexOf('arm_timer_for_recovery'), event).toBeLessThan(transition.effects.indexOf('write'));
      if (TERMINAL_STATES.includes(transition.to)) expect(transition.effects, event).toContain('clear_timer');
    }
  });
});

describe('the timer: what is due', () => {
  const at = (seconds: number): string => new Date(Date.parse(T0) + seconds * 1000).toISOString();
  const booking = (state: BookingState, deadlines: { routing_since?: string; expires_at?: string; open_until?: string } = {}) => ({
    state,
    routing_since: deadlines.routing_since ?? null,
    expires_at: deadlines.expires_at ?? null,
    open_until: deadlines.open_until ?? null,
  });

  it.each([
    ['routing', { routing_since: T0 }, at(120)],
    ['offered', { expires_at: at(600) }, at(600)],
    ['open', { open_until: at(1800) }, at(1800)],
    ['awaiting_checkout', {}, null],
    ['matched', {}, null],
  ] as const)('%s: next deadline %s', (state, deadlines, expected) => {
    expect(nextDeadline(booking(state, deadlines), 120)).toBe(expected);
  });

  it('nothing before a deadline; at or after it, the one thing due in that state', () => {
    expect(dueWork(booking('routing', { routing_since: T0 }), at(119), 120)).toBe('nothing');
    expect(dueWork(booking('routing', { routing_since: T0 }), at(120), 120)).toBe('finish_routing');
    expect(dueWork(booking('offered', { expires_at: at(600) }), at(599.999), 120)).toBe('nothing');
    expect(dueWork(booking('offered', { expires_at: at(600) }), at(600), 120)).toBe('end_window');
    expect(dueWork(booking('open', { open_until: at(1800) }), at(1801), 120)).toBe('expire');
    expect(dueWork(booking('awaiting_checkout'), at(9999), 120)).toBe('nothing');
    expect(dueWork(undefined, at(0), 120)).toBe('nothing');
  });

  it.each(TERMINAL_STATES)('%s: a firing repeats the ending (its invocation may have died before telling everyone)', (state) => {
    expect(dueWork(booking(state), at(0), 120)).toBe('retell_end');
  });
});
