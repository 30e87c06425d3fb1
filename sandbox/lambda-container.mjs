// Worker entry: lets the worker thread load the sandbox's TypeScript (the bundles are plain JS), and makes
// handlers' stack traces point at their TypeScript sources, as NODE_OPTIONS=--enable-source-maps does in the stack.
import { register } from 'tsx/esm/api';

process.setSourceMapsEnabled(true);
register();
await import('./lambda-container.ts');
