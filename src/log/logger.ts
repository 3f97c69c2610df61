import { pino, type Logger, type LevelWithSilent } from 'pino';

export type { Logger };

export interface LoggerOptions {
  readonly level?: LevelWithSilent;
  readonly name?: string;
  /** Pretty output for humans; defaults to whether stderr is a terminal. */
  readonly pretty?: boolean;
}

/**
 * JSON logs by default (machines read them: journald, log shippers); a
 * terminal gets pino-pretty. Logs go to stderr so that commands whose stdout
 * is data (`cairn ctl`, `--noop` diffs) stay pipe-friendly.
 */
export function createLogger(options: LoggerOptions = {}): Logger {
  const level = options.level ?? (process.env['CAIRN_LOG_LEVEL'] as LevelWithSilent | undefined) ?? 'info';
  const pretty = options.pretty ?? process.stderr.isTTY === true;
  const base = { level, ...(options.name === undefined ? {} : { name: options.name }) };
  if (pretty) {
    return pino({
      ...base,
      transport: { target: 'pino-pretty', options: { destination: 2, colorize: true } },
    });
  }
  return pino(base, pino.destination({ dest: 2, sync: true }));
}

export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}
