/**
 * The web console as a static site: `console/` bundled by esbuild when it is
 * first asked for (in memory; a sandbox nobody opens the console of, as in
 * most tests, never pays for the build) and served under `/console/` on the
 * HTTP port. In AWS these files sit in S3 behind CloudFront (the stack's
 * `consoleSite`); here the HTTP gateway answers them before its API routes,
 * and none of them is an API route. The page talks only to the public APIs;
 * the one thing it learns from the sandbox is where the WebSocket API is (a
 * JSON script in index.html), since the test sandboxes pick free ports.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { CONSOLE_PATH, type ConsoleConfig } from '../contract/console';
import { bundleConsole, readConsoleFiles, withConfig } from '../lib/console-bundle';

export type StaticSite = (req: IncomingMessage, res: ServerResponse) => boolean;

/** The handler answers `/console/…` (true) and leaves every other path to the API (false); the app is bundled once, on first request. */
export function consoleSite(config: () => ConsoleConfig): StaticSite {
  let appJs: Promise<Uint8Array> | undefined;
  const { indexHtml, styleCss } = readConsoleFiles();

  return (req, res) => {
    const path = new URL(req.url ?? '/', 'http://localhost').pathname;
    if (path === '/console') return redirect(res, CONSOLE_PATH);
    if (!path.startsWith(CONSOLE_PATH) || (req.method !== 'GET' && req.method !== 'HEAD')) return false;
    switch (path.slice(CONSOLE_PATH.length)) {
      case '':
      case 'index.html':
        return file(res, 'text/html; charset=utf-8', withConfig(indexHtml, config()));
      case 'app.js':
        appJs ??= bundleConsole('sandbox');
        appJs.then(
          (js) => file(res, 'text/javascript; charset=utf-8', js),
          (error: unknown) => res.writeHead(500, { 'content-type': 'text/plain' }).end(`the console did not build: ${String(error)}`),
        );
        return true;
      case 'style.css':
        return file(res, 'text/css; charset=utf-8', styleCss);
      default:
        res.writeHead(404, { 'content-type': 'text/plain' }).end('Not Found');
        return true;
    }
  };
}

function file(res: ServerResponse, contentType: string, body: string | Uint8Array): true {
  // Built once and never changed while it runs: no caching keeps a restarted sandbox's page current.
  res.writeHead(200, { 'content-type': contentType, 'cache-control': 'no-store' }).end(body);
  return true;
}

function redirect(res: ServerResponse, location: string): true {
  res.writeHead(301, { location }).end();
  return true;
}
