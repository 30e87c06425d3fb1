// Worker entry: lets the worker thread load the TypeScript handlers (the sandbox's "Lambda container").
import { register } from 'tsx/esm/api';

register();
await import('./lambda-container.ts');
