/** One JSON object per line on stdout, so CloudWatch (and the sandbox) show each line whole. */
import type { LogFields, Logger } from '../ports';

export const jsonLogger = (context: LogFields = {}): Logger => {
  const write = (level: string, message: string, fields?: LogFields): void => {
    process.stdout.write(`${JSON.stringify({ timestamp: new Date().toISOString(), level, message, ...context, ...fields })}\n`);
  };
  return {
    info: (message, fields) => write('INFO', message, fields),
    warn: (message, fields) => write('WARN', message, fields),
    error: (message, fields) => write('ERROR', message, fields),
  };
};

export const systemClock = { now: (): Date => new Date() };
