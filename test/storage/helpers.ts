import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import type { Logger } from '../../src/log/logger.js';

/** A temp root per test file; every test takes a fresh subdirectory of it. */
export class TempRoot {
  private root: string | undefined;
  private count = 0;

  async setUp(prefix: string): Promise<void> {
    this.root = await mkdtemp(join(tmpdir(), `cairn-${prefix}-`));
  }

  dir(name = 'd'): string {
    if (this.root === undefined) throw new Error('TempRoot.setUp was not called');
    this.count++;
    return join(this.root, `${name}-${this.count}`);
  }

  async tearDown(): Promise<void> {
    if (this.root !== undefined) await rm(this.root, { recursive: true, force: true });
  }
}

export interface CapturedLog {
  readonly level: number;
  readonly msg: string;
  readonly [key: string]: unknown;
}

/** A real pino logger whose records the test can inspect. */
export function captureLogger(): { logger: Logger; records: CapturedLog[] } {
  const records: CapturedLog[] = [];
  const logger = pino({ level: 'debug' }, {
    write(line: string) {
      records.push(JSON.parse(line) as CapturedLog);
    },
  });
  return { logger, records };
}

export const PINO_WARN = 40;

export function bytes(text: string): Uint8Array {
  return new TextEncoder().encode(text);
}

export function text(data: Uint8Array): string {
  return new TextDecoder().decode(data);
}
