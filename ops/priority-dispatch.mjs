#!/usr/bin/env node
/**
 * `npx priority-dispatch …` (the package's bin): the ops CLI, ops/cli.ts. Plain JavaScript, so that an old
 * Node gets scripts/check-node.mjs's message, and so it can register tsx (how this repo runs TypeScript, as
 * `npm start` does) before importing the TypeScript.
 */
import { register } from 'tsx/esm/api';
import { nodeVersionProblem } from '../scripts/check-node.mjs';

const problem = nodeVersionProblem(process.versions.node, process.execPath);
if (problem) {
  console.error(problem);
  process.exit(1);
}
register();
await import('./cli.ts');
