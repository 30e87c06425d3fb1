/** The first step of every npm script: an old Node gets one clear message, not a stack trace from a dependency. */
import { describe, expect, it } from 'vitest';
import { MINIMUM_NODE_MAJOR, nodeVersionProblem } from '../../scripts/check-node.mjs';

describe('nodeVersionProblem', () => {
  it('accepts Node 22 and newer, the Node this test runs on included', () => {
    expect(MINIMUM_NODE_MAJOR).toBe(22);
    for (const version of ['22.12.0', '24.21.0', '26.0.0', process.versions.node]) expect(nodeVersionProblem(version, '/usr/bin/node')).toBeUndefined();
  });

  it('refuses an older Node with one message that names the version, where it came from and what to do', () => {
    // Act
    const problem = nodeVersionProblem('20.20.2', '/usr/bin/node');

    // Assert
    expect(problem).toContain('Node.js 22 or newer');
    expect(problem).toContain('Node 20.20.2 (/usr/bin/node)');
    expect(problem).toContain('npm ci');
    expect(problem).toContain('nvm install 24');
  });
});
