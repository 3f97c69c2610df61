import { CtlExit, EXIT, fail } from '../exit.js';
import { CtlClientError } from '../go-errors.js';
import type { FlagValues } from '../go-flag-set.js';
import type { GoNode, KeysResponse } from '../keys-api.js';
import { printResponseKey } from '../output.js';
import type { CtlSession } from '../session.js';

/** The key commands of etcdctl's v2 mode, with its argument checks, exit codes and output rules. */

export interface CommandInput {
  readonly session: CtlSession;
  readonly flags: FlagValues;
  readonly args: readonly string[];
}

function requireKey(input: CommandInput): string {
  const key = input.args[0];
  if (key === undefined) fail(input.session.io, EXIT.badArgs, new CtlClientError('key required'));
  return key;
}

/** argOrStdin: the value argument, else all of stdin; nothing at all is an error. */
function requireValue(input: CommandInput): string {
  const value = input.args[1] ?? input.session.io.readStdin();
  if (input.args[1] === undefined && value === '') fail(input.session.io, EXIT.badArgs, new CtlClientError('value required'));
  return value;
}

async function serverCall(input: CommandInput, call: (deadline: AbortSignal) => Promise<KeysResponse>): Promise<KeysResponse> {
  try {
    return await call(input.session.deadline());
  } catch (err) {
    if (err instanceof CtlExit) throw err;
    fail(input.session.io, EXIT.serverError, err);
  }
}

export async function getCommand(input: CommandInput): Promise<void> {
  const keys = await input.session.keys();
  const key = requireKey(input);
  const resp = await serverCall(input, (d) => keys.get(key, { sort: input.flags.bool('sort'), quorum: input.flags.bool('quorum') }, d));
  if (resp.node?.dir === true) {
    input.session.io.err(`${resp.node.key}: is a directory\n`);
    throw new CtlExit(1);
  }
  printResponseKey(input.session.io, resp, input.session.output);
}

export async function setCommand(input: CommandInput): Promise<void> {
  const keys = await input.session.keys();
  const key = requireKey(input);
  const value = requireValue(input);
  const resp = await serverCall(input, (d) =>
    keys.set(
      key,
      value,
      { ttl: input.flags.int('ttl'), prevValue: input.flags.string('swap-with-value'), prevIndex: input.flags.int('swap-with-index') },
      d,
    ),
  );
  printResponseKey(input.session.io, resp, input.session.output);
}

export async function mkCommand(input: CommandInput): Promise<void> {
  const keys = await input.session.keys();
  const key = requireKey(input);
  const value = requireValue(input);
  const ttl = input.flags.int('ttl');
  const resp = await serverCall(input, (d) =>
    input.flags.bool('in-order') ? keys.createInOrder(key, value, ttl, d) : keys.set(key, value, { ttl, prevExist: 'false' }, d),
  );
  printResponseKey(input.session.io, resp, input.session.output);
}

/** mkdir, setdir and updatedir: a directory write that prints only in the extended and json formats. */
async function dirCommand(input: CommandInput, prevExist: 'true' | 'false' | undefined): Promise<void> {
  const keys = await input.session.keys();
  const key = requireKey(input);
  const resp = await serverCall(input, (d) =>
    keys.set(key, '', { ttl: input.flags.int('ttl'), dir: true, ...(prevExist === undefined ? {} : { prevExist }) }, d),
  );
  if (input.session.output !== 'simple') printResponseKey(input.session.io, resp, input.session.output);
}

export const mkdirCommand = (input: CommandInput): Promise<void> => dirCommand(input, 'false');
export const setdirCommand = (input: CommandInput): Promise<void> => dirCommand(input, undefined);
export const updatedirCommand = (input: CommandInput): Promise<void> => dirCommand(input, 'true');

export async function updateCommand(input: CommandInput): Promise<void> {
  const keys = await input.session.keys();
  const key = requireKey(input);
  const value = requireValue(input);
  const resp = await serverCall(input, (d) => keys.set(key, value, { ttl: input.flags.int('ttl'), prevExist: 'true' }, d));
  printResponseKey(input.session.io, resp, input.session.output);
}

/** rm and rmdir print the deleted key's previous value, but a directory only in the extended and json formats. */
function printDeleted(input: CommandInput, resp: KeysResponse): void {
  if (resp.node?.dir !== true || input.session.output !== 'simple') printResponseKey(input.session.io, resp, input.session.output);
}

export async function rmCommand(input: CommandInput): Promise<void> {
  const keys = await input.session.keys();
  const key = requireKey(input);
  const resp = await serverCall(input, (d) =>
    keys.delete(
      key,
      {
        prevIndex: input.flags.int('with-index'),
        prevValue: input.flags.string('with-value'),
        dir: input.flags.bool('dir'),
        recursive: input.flags.bool('recursive'),
      },
      d,
    ),
  );
  printDeleted(input, resp);
}

export async function rmdirCommand(input: CommandInput): Promise<void> {
  const keys = await input.session.keys();
  const key = requireKey(input);
  const resp = await serverCall(input, (d) => keys.delete(key, { dir: true }, d));
  printDeleted(input, resp);
}

export async function lsCommand(input: CommandInput): Promise<void> {
  const keys = await input.session.keys();
  const key = input.args[0] ?? '/';
  const resp = await serverCall(input, (d) =>
    keys.get(key, { sort: input.flags.bool('sort'), recursive: input.flags.bool('recursive'), quorum: input.flags.bool('quorum') }, d),
  );
  if (input.session.output !== 'simple') {
    printResponseKey(input.session.io, resp, input.session.output);
    return;
  }
  const slash = input.flags.bool('p');
  const lines: string[] = [];
  const walk = (n: GoNode): void => {
    lines.push(n.dir && slash ? `${n.key}/` : n.key);
    for (const child of n.nodes ?? []) walk(child);
  };
  if (resp.node?.dir !== true) lines.push(resp.node?.key ?? '');
  for (const child of resp.node?.nodes ?? []) walk(child);
  input.session.io.out(lines.map((l) => `${l}\n`).join(''));
}
