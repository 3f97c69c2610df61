import { randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { writeFileAtomic } from '../storage/fsutil.js';

/** A member's stable identity: kept in the data dir so restarts keep their ids. */
export interface Identity {
  readonly memberId: string;
  readonly clusterId: string;
  readonly name: string;
}

/** 16 hex digits, as etcd prints member ids (a uint64 does not fit in a JS number). */
export function randomId(): string {
  let id = randomBytes(8).toString('hex');
  // etcd never uses 0 as an id; neither do we.
  if (/^0+$/.test(id)) id = '0000000000000001';
  return id;
}

export async function loadOrCreateIdentity(dataDir: string, name: string): Promise<Identity> {
  const file = join(dataDir, 'member.json');
  try {
    const parsed = JSON.parse(await readFile(file, 'utf8')) as Identity;
    return parsed;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
  const identity: Identity = { memberId: randomId(), clusterId: randomId(), name };
  await writeFileAtomic(file, Buffer.from(`${JSON.stringify(identity)}\n`));
  return identity;
}
