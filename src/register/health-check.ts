import { spawn } from 'node:child_process';

export interface CheckResult {
  readonly passed: boolean;
  /** Why it failed, for the log: exit status or timeout, plus the tail of its output. */
  readonly detail: string;
}

const OUTPUT_TAIL = 2_000;

/**
 * Runs a health command through `/bin/sh -c`, as confd and fleet do. The
 * shell gets its own process group so that a timeout or an abort kills the
 * whole pipeline it started, not just the shell (a `curl` left hanging
 * would otherwise outlive every later check).
 */
export function runCheck(command: string, timeoutMs: number, signal?: AbortSignal): Promise<CheckResult> {
  return new Promise((resolve) => {
    if (signal?.aborted === true) {
      resolve({ passed: false, detail: 'aborted' });
      return;
    }
    const child = spawn('/bin/sh', ['-c', command], { detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    const collect = (chunk: Buffer): void => {
      output = (output + chunk.toString('utf8')).slice(-OUTPUT_TAIL);
    };
    child.stdout.on('data', collect);
    child.stderr.on('data', collect);
    let verdict: string | undefined;
    const killGroup = (why: string): void => {
      verdict ??= why;
      try {
        if (child.pid !== undefined) process.kill(-child.pid, 'SIGKILL');
      } catch {
        // Already gone.
      }
    };
    const timer = setTimeout(() => killGroup(`timed out after ${timeoutMs} ms`), timeoutMs);
    const onAbort = (): void => killGroup('aborted');
    signal?.addEventListener('abort', onAbort, { once: true });
    const finish = (result: CheckResult): void => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
      // Grandchildren may still hold the pipes open; their output is not worth waiting for.
      child.stdout.destroy();
      child.stderr.destroy();
      resolve(result);
    };
    child.once('error', (err) => finish({ passed: false, detail: `cannot run /bin/sh: ${err.message}` }));
    child.once('exit', (code, sig) => {
      if (verdict === undefined && code === 0) {
        finish({ passed: true, detail: '' });
        return;
      }
      const status = verdict ?? (code !== null ? `exit status ${code}` : `killed by ${sig ?? 'a signal'}`);
      const tail = output.trim();
      finish({ passed: false, detail: tail === '' ? status : `${status}: ${tail}` });
    });
  });
}
