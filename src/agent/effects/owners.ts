import { readFile } from 'node:fs/promises';
import { CairnError } from '../../util/errors.js';
import { runShellCommand } from './run-command.js';
import { shellQuote } from '../command-template.js';

export class OwnerError extends CairnError {
  constructor(message: string) {
    super('CAIRN_OWNER_UNKNOWN', message);
  }
}

async function fromDatabase(file: string, name: string): Promise<number | undefined> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch {
    return undefined;
  }
  for (const line of text.split('\n')) {
    const fields = line.split(':');
    if (fields[0] === name && fields[2] !== undefined && /^\d+$/.test(fields[2])) return Number(fields[2]);
  }
  return undefined;
}

/**
 * Resolves a user or group name to its id: /etc/passwd or /etc/group first,
 * then `getent` for names that come from NSS (LDAP, sssd). A number is taken
 * as an id.
 */
export async function resolveId(kind: 'user' | 'group', name: string): Promise<number> {
  if (/^\d+$/.test(name)) return Number(name);
  const local = await fromDatabase(kind === 'user' ? '/etc/passwd' : '/etc/group', name);
  if (local !== undefined) return local;
  const result = await runShellCommand(`getent ${kind === 'user' ? 'passwd' : 'group'} ${shellQuote(name)}`, { timeoutMs: 5_000 });
  const id = result.exitCode === 0 ? result.output.split(':')[2] : undefined;
  if (id !== undefined && /^\d+$/.test(id)) return Number(id);
  throw new OwnerError(`unknown ${kind} "${name}"`);
}
