import { spawnSync } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import { delimiter, join } from 'node:path';

/** Absolute path of `command` on PATH, or undefined; checked without a shell. */
export function findOnPath(command: string): string | undefined {
  for (const dir of (process.env['PATH'] ?? '').split(delimiter)) {
    if (dir === '') continue;
    const candidate = join(dir, command);
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // not in this directory
    }
  }
  return undefined;
}

/** First capture of `pattern` in the command's output, e.g. a version number. */
export function probeOutput(command: string, args: readonly string[], pattern: RegExp): string | undefined {
  const result = spawnSync(command, args, { encoding: 'utf8', timeout: 10_000 });
  return pattern.exec(`${result.stdout ?? ''}${result.stderr ?? ''}`)?.[1];
}
