/** The two ways a command fails, and the exit code each gives a script (README "Ops CLI"). */

/** The command line makes no sense (unknown command or option, bad value): exit 2, nothing was done. */
export class UsageError extends Error {
  readonly code = 'usage';
}

/** The operation ran and failed (not found, refused, an AWS or HTTP error): exit 1. `code` is machine-readable. */
export class OpsError extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

export const EXIT = { ok: 0, failed: 1, usage: 2 } as const;
