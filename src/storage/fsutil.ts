import { mkdir, open, rename, unlink, type FileHandle } from 'node:fs/promises';
import { randomBytes } from 'node:crypto';
import { basename, dirname, join, resolve } from 'node:path';

/** Suffix of in-progress atomic writes; owners of a directory may delete leftovers at start-up. */
export const TEMP_SUFFIX = '.tmp';

export async function fsyncFile(path: string): Promise<void> {
  const fh = await open(path, 'r');
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}

/**
 * Makes a create, rename or unlink inside `dir` durable. Without it a crash
 * can forget a file that was fsynced itself (etcd #6368).
 */
export async function fsyncDir(dir: string): Promise<void> {
  const fh = await open(dir, 'r');
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}

/** `mkdir -p` whose new directory entries survive a crash: each created level's parent is fsynced. */
export async function mkdirDurable(dir: string): Promise<void> {
  const created = await mkdir(dir, { recursive: true });
  if (created === undefined) return;
  const top = resolve(created);
  for (let level = resolve(dir); ; level = dirname(level)) {
    await fsyncDir(dirname(level));
    if (level === top || dirname(level) === level) break;
  }
}

/**
 * Writes every byte of `buffers` at `position` with as few syscalls as the
 * kernel allows. Node reports short writes rather than retrying them, so the
 * loop is what makes "resolved" mean "all written".
 */
export async function writeAll(fh: FileHandle, buffers: readonly Uint8Array[], position: number): Promise<number> {
  let pending = buffers.filter((b) => b.byteLength > 0);
  let pos = position;
  while (pending.length > 0) {
    const { bytesWritten } = await fh.writev(pending, pos);
    if (bytesWritten <= 0) throw new Error(`writev wrote ${bytesWritten} bytes`);
    pos += bytesWritten;
    let skip = bytesWritten;
    const rest: Uint8Array[] = [];
    for (const b of pending) {
      if (skip >= b.byteLength) {
        skip -= b.byteLength;
      } else {
        rest.push(skip === 0 ? b : b.subarray(skip));
        skip = 0;
      }
    }
    pending = rest;
  }
  return pos - position;
}

export function tempPathFor(path: string): string {
  return join(dirname(path), `.${basename(path)}.${process.pid}-${randomBytes(4).toString('hex')}${TEMP_SUFFIX}`);
}

/**
 * Replaces `path` so that after a crash it holds either the old or the new
 * contents, never a mix: temp file in the same directory (rename is only
 * atomic within one filesystem), fsync, rename, fsync the directory.
 * Accepts several buffers so large payloads are written without being
 * concatenated first.
 */
export async function writeFileAtomic(path: string, data: Uint8Array | readonly Uint8Array[]): Promise<void> {
  const tmp = tempPathFor(path);
  const buffers = data instanceof Uint8Array ? [data] : data;
  let renamed = false;
  try {
    const fh = await open(tmp, 'wx', 0o644);
    try {
      await writeAll(fh, buffers, 0);
      await fh.sync();
    } finally {
      await fh.close();
    }
    await rename(tmp, path);
    renamed = true;
    await fsyncDir(dirname(path));
  } finally {
    if (!renamed) await unlink(tmp).catch(() => undefined);
  }
}
