/** The web console's static site (sandbox/console-site.ts serves it; console/ reads the config). */

/** Where the console is served, on the HTTP API's origin. */
export const CONSOLE_PATH = '/console/';

/** What the page cannot derive from `location`, written into index.html as a JSON script with id `config`. */
export interface ConsoleConfig {
  /** The WebSocket API's URL, stage included (`ws://127.0.0.1:3001/local`): its port differs from the page's. */
  readonly wsUrl: string;
  /** For the ops view, which calls AWS as the ops CLI does: the AWS endpoint (the sandbox's), its region and the stage's names. */
  readonly aws: {
    readonly endpoint: string;
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
