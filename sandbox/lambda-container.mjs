// Worker entry: lets the worker thread load the sandbox's TypeScript (the bundles are plain JS), and makes
// handlers' stack traces point at their TypeScript sources (the stack ships source maps but leaves them off: lib/constructs/node-function.ts).
import { register } from 'tsx/esm/api';

process.setSourceMapsEnabled(true);
register();
await import('./lambda-container.ts');
