import { pino } from 'pino';
import type { Logger } from '../../../src/log/logger.js';

export interface CapturedLog {
  readonly level: number;
  readonly msg: string;
  readonly [field: string]: unknown;
}

/** A real pino logger whose lines land in an array, for asserting what was logged. */
export function captureLogger(level: 'debug' | 'info' = 'debug'): { logger: Logger; lines: CapturedLog[] } {
  const lines: CapturedLog[] = [];
  const logger = pino({ level }, { write: (line: string) => void lines.push(JSON.parse(line) as CapturedLog) });
  return { logger, lines };
}

/** pino's numeric levels. */
export const LEVEL = { debug: 20, info: 30, warn: 40, error: 50 } as const;
