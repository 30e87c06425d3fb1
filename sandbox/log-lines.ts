/**
 * Turns the handlers' JSON log lines into one readable line each for the
 * terminal, keeping the message (and so its `[Priority]` / `[Fallback]`
 * prefix) first so `grep` still works.
 */
/** Not worth a terminal's width: the EMF envelope (`_aws`) and fields every line has. */
const QUIET_FIELDS = new Set(['timestamp', 'level', 'message', 'service', 'function', '_aws']);

export function readable(line: string): string {
  let entry: Record<string, unknown>;
  try {
    entry = JSON.parse(line) as Record<string, unknown>;
  } catch {
    return line;
  }
  if (typeof entry.message !== 'string') return line;
  const time = typeof entry.timestamp === 'string' ? entry.timestamp.slice(11, 23) : '';
  const level = entry.level === 'INFO' || !entry.level ? '' : ` ${String(entry.level)}`;
  const details = Object.entries(entry)
    .filter(([name, value]) => !QUIET_FIELDS.has(name) && value !== undefined && value !== null)
    .map(([name, value]) => `${name}=${typeof value === 'string' ? value : JSON.stringify(value)}`)
    .join(' ');
  return `${time}${level} ${entry.message}${details ? `  ${details}` : ''}`;
}

export const sandboxLine = (message: string): string => `${new Date().toISOString().slice(11, 23)} [sandbox] ${message}`;
