import { spawn } from 'node:child_process';
import { CtlExit, EXIT, fail } from '../exit.js';
import { CtlClientError } from '../go-errors.js';
import { goQuote } from '../go-values.js';
import type { KeysResponse } from '../keys-api.js';
import { printResponseKey } from '../output.js';
import type { CommandInput } from './keys.js';

/** watch and exec-watch: long polls that resume after each event, Ctrl-C ends them with status 0. */

/** Ctrl-C ends a watch with status 0, as etcdctl's signal handler does. */
function exitZeroOnInterrupt(): void {
  process.once('SIGINT', () => process.exit(0));
}

async function nextEvent(input: CommandInput, watcher: { next(): Promise<KeysResponse> }): Promise<KeysResponse> {
  try {
    return await watcher.next();
  } catch (err) {
    if (err instanceof CtlExit) throw err;
    fail(input.session.io, EXIT.serverError, err);
  }
}

export async function watchCommand(input: CommandInput): Promise<void> {
  const keys = await input.session.keys();
  const key = input.args[0];
  if (key === undefined) fail(input.session.io, EXIT.badArgs, new CtlClientError('key required'));
  const recursive = input.flags.bool('recursive');
  const forever = input.flags.bool('forever');
  const watcher = keys.watcher(key, input.flags.int('after-index'), recursive);
  exitZeroOnInterrupt();
  for (;;) {
    const resp = await nextEvent(input, watcher);
    if (resp.node?.dir === true) continue;
    if (recursive) input.session.io.out(`[${resp.action}] ${resp.node?.key ?? ''}\n`);
    printResponseKey(input.session.io, resp, input.session.output);
    if (!forever) return;
  }
}

/**
 * exec-watch: `key -- command args…` or, as etcdctl reads it when no flag
 * precedes the key, `command args… key`. The command runs once per event,
 * without waiting for the previous run, with ETCD_WATCH_* describing it.
 */
export async function execWatchCommand(input: CommandInput): Promise<void> {
  const keys = await input.session.keys();
  const args = input.args;
  if (args.length < 2) fail(input.session.io, EXIT.badArgs, new CtlClientError('key and command to exec required'));
  const separated = args.some((a, i) => a === '--' && i !== 0);
  const key = separated ? (args[0] as string) : (args[args.length - 1] as string);
  const command = separated ? args.slice(2) : args.slice(0, -1);
  const watcher = keys.watcher(key, input.flags.int('after-index'), input.flags.bool('recursive'));
  exitZeroOnInterrupt();
  for (;;) {
    const resp = await nextEvent(input, watcher);
    if (resp.node?.dir === true) {
      input.session.io.err(`Ignored dir ${resp.node.key} change\n`);
      continue;
    }
    runOnce(input, command, resp);
  }
}

function runOnce(input: CommandInput, command: readonly string[], resp: KeysResponse): void {
  const [file, ...rest] = command;
  if (file === undefined) {
    input.session.io.err('panic: runtime error: index out of range [0] with length 0\n');
    process.exit(2);
  }
  const child = spawn(file, rest, {
    stdio: 'inherit',
    env: {
      ...input.session.io.env,
      ETCD_WATCH_ACTION: resp.action,
      ETCD_WATCH_MODIFIED_INDEX: String(resp.node?.modifiedIndex ?? 0),
      ETCD_WATCH_KEY: resp.node?.key ?? '',
      ETCD_WATCH_VALUE: resp.node?.value ?? '',
    },
  });
  child.once('error', (err: NodeJS.ErrnoException) => {
    // etcdctl prints the start error without a newline and exits 1.
    const message =
      !file.includes('/') && err.code === 'ENOENT'
        ? `exec: ${goQuote(file)}: executable file not found in $PATH`
        : `fork/exec ${file}: ${err.code === 'EACCES' ? 'permission denied' : 'no such file or directory'}`;
    input.session.io.err(message);
    process.exit(1);
  });
}
