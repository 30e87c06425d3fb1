/**
 * Small durable state for the emulated services (parameters, schedules, keys):
 * one JSON file each under the data dir, written atomically (temp + rename)
 * so a kill mid-write never leaves half a file. With no directory (in-memory
 * mode) nothing touches the disk.
 */
import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export class JsonFile<T> {
  private readonly path: string | undefined;

  constructor(dataDir: string | undefined, fileName: string) {
    this.path = dataDir ? join(dataDir, fileName) : undefined;
    if (dataDir) mkdirSync(dataDir, { recursive: true });
  }

  read(fallback: T): T {
    if (!this.path) return fallback;
    try {
      return JSON.parse(readFileSync(this.path, 'utf8')) as T;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return fallback;
      throw error;
    }
  }

  write(value: T): void {
    if (!this.path) return;
    const temp = `${this.path}.${process.pid}.tmp`;
    writeFileSync(temp, JSON.stringify(value, null, 2));
    renameSync(temp, this.path);
  }
}
