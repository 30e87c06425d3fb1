/** The web console's static site (sandbox/console-site.ts serves it, lib/constructs/console-site.ts deploys it; console/ reads the config). */

/** Where the sandbox serves the console, on the HTTP API's origin. */
export const CONSOLE_PATH = '/console/';

/** What the page cannot derive from `location`, written into index.html as a JSON script with id `config`. */
export interface ConsoleConfig {
  /**
   * `sandbox`: served by `npm start`, which also issues dev tokens (`POST /dev/token`) and takes its operator key.
   * `aws`: deployed by the stack (`consoleSite`), where users paste tokens from the issuer and ops use the CLI.
   */
  readonly mode: 'sandbox' | 'aws';
  /** The stage the page talks to (`local` in the sandbox). */
  readonly stage: string;
  /** The HTTP API's base URL (`https://{api-id}.execute-api.{region}.amazonaws.com/`); empty for the page's own origin, where the sandbox serves both. */
  readonly httpApiUrl: string;
  /** The WebSocket API's URL, stage included (`ws://127.0.0.1:3001/local`): its port differs from the page's. */
  readonly wsUrl: string;
  /** For the ops view, which calls AWS as the ops CLI does: the AWS endpoint (the sandbox's; none: AWS's own), its region and the stage's names. */
  readonly aws: {
    readonly endpoint?: string;
    readonly region: string;
    readonly flagParameterName: string;
    readonly scheduleGroupName: string;
    /** Pending requests and connections are read from it (its `pending-by-audience` and `connections-by-mechanic` indexes). */
    readonly tableName: string;
    /**
     * The function whose environment says the priority window and the flag cache TTL in effect (Lambda
     * GetFunctionConfiguration): the intake, which reads the flag and opens a booking's first window.
     */
    readonly intakeFunctionName: string;
  };
}
