import { CAIRN_MAIN } from '../support/cairn.js';
import { startProcess, type ManagedProcess } from '../support/process.js';
import { v2Get, type V2NodeJson } from '../support/v2-probe.js';
import { waitFor } from '../support/wait.js';

export interface RegisterProcess extends ManagedProcess {
  /** The `event` field of every JSON log line so far, in order. */
  events(): string[];
  /** Log lines whose `event` is `name`. */
  linesFor(name: string): Record<string, unknown>[];
  /** The first log line with this event, once it has been read. */
  waitForEvent(name: string): Promise<Record<string, unknown>>;
  /** Sends `signal` and resolves with the exit status once all its output has been read. */
  stop(signal: NodeJS.Signals): Promise<number | string>;
  /** Resolves with the exit status once it has exited on its own and all its output has been read. */
  finished(): Promise<number | string>;
}

/** `cairn register …` as a user runs it, logging JSON at info level. */
export function startRegister(args: readonly string[], env: Readonly<Record<string, string>> = {}): RegisterProcess {
  const proc = startProcess(process.execPath, [CAIRN_MAIN, 'register', ...args], {
    env: { ...process.env, CAIRN_LOG_LEVEL: 'info', ...env },
  });
  const lines = (): Record<string, unknown>[] =>
    proc
      .output()
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .map((l) => JSON.parse(l) as Record<string, unknown>);
  // 'exit' can come before the last output is read; 'close' comes after both.
  const closed = new Promise<void>((resolve) => proc.child.once('close', () => resolve()));
  const linesFor = (name: string): Record<string, unknown>[] => lines().filter((l) => l['event'] === name);
  return {
    ...proc,
    events: () => lines().flatMap((l) => (typeof l['event'] === 'string' ? [l['event']] : [])),
    linesFor,
    waitForEvent: (name) => waitFor(() => linesFor(name)[0], { what: `a "${name}" log line` }),
    async stop(signal) {
      const status = await proc.kill(signal);
      await closed;
      return status;
    },
    async finished() {
      const status = await proc.exited;
      await closed;
      return status;
    },
  };
}

/** The key's node, or undefined when the store says 100 Key not found. */
export async function readKey(url: string, key: string): Promise<V2NodeJson | undefined> {
  const res = await v2Get(url, key);
  if (res.body.errorCode === 100) return undefined;
  if (res.status !== 200 || res.body.node === undefined) throw new Error(`GET ${key}: ${res.status} ${JSON.stringify(res.body)}`);
  return res.body.node;
}

/** Waits until the key holds `value` (a register run has written it). */
export async function waitForValue(url: string, key: string, value: string, proc?: ManagedProcess): Promise<V2NodeJson> {
  return waitFor(
    async () => {
      if (proc !== undefined && proc.child.exitCode !== null) throw new Error(`register exited with ${proc.child.exitCode}:\n${proc.output()}`);
      const node = await readKey(url, key);
      return node?.value === value ? node : undefined;
    },
    { what: `${key}=${value} at ${url}` },
  );
}

/** Waits until the key is gone; `timeoutMs` is the caller's bound on "soon". */
export async function waitForGone(url: string, key: string, timeoutMs = 20_000): Promise<void> {
  await waitFor(async () => (await readKey(url, key)) === undefined, { what: `${key} to be gone from ${url}`, timeoutMs });
}
