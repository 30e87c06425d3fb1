// Worker entry of the WebSocket gateway's thread: lets it load the sandbox's TypeScript.
import { register } from 'tsx/esm/api';

register();
await import('./websocket-gateway-worker.ts');
