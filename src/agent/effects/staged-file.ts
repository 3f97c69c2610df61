import { randomBytes } from 'node:crypto';
import { mkdir, open, rename, rm } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { fsyncDir } from '../../storage/fsutil.js';

/** What a destination file holds now; `undefined` fields mean the file does not exist. */
export interface DestState {
  readonly content: Buffer | undefined;
  readonly mode: number | undefined;
  readonly uid: number | undefined;
  readonly gid: number | undefined;
}

export interface FileAttributes {
  readonly mode: number;
  /** Undefined: leave as the process creates it. */
  readonly uid: number | undefined;
  readonly gid: number | undefined;
}

export async function readDest(dest: string): Promise<DestState> {
  try {
    const handle = await open(dest, 'r');
    try {
      const [info, content] = await Promise.all([handle.stat(), handle.readFile()]);
      return { content, mode: info.mode & 0o7777, uid: info.uid, gid: info.gid };
    } finally {
      await handle.close();
    }
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return { content: undefined, mode: undefined, uid: undefined, gid: undefined };
    throw err;
  }
}

/** Content, mode and owner as confd's IsConfigChanged compares them. */
export function destDiffers(current: DestState, content: Buffer, attrs: FileAttributes): boolean {
  if (current.content === undefined || !current.content.equals(content)) return true;
  if (current.mode !== attrs.mode) return true;
  if (attrs.uid !== undefined && current.uid !== attrs.uid) return true;
  return attrs.gid !== undefined && current.gid !== attrs.gid;
}

/**
 * Writes the stage file beside `dest` (same directory, so the final rename is
 * atomic), with its final mode and owner, and fsyncs it. Returns its path.
 */
export async function writeStageFile(dest: string, content: Buffer, attrs: FileAttributes): Promise<string> {
  const staged = join(dirname(dest), `.${basename(dest)}.cairn-${randomBytes(6).toString('hex')}`);
  let handle;
  try {
    handle = await open(staged, 'wx', attrs.mode);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    // A first render into a directory nobody made yet, as consul-template allows.
    await mkdir(dirname(dest), { recursive: true, mode: 0o755 });
    handle = await open(staged, 'wx', attrs.mode);
  }
  try {
    await handle.writeFile(content);
    // open() applies the umask; the resource's mode is meant literally.
    await handle.chmod(attrs.mode);
    if (attrs.uid !== undefined || attrs.gid !== undefined) await handle.chown(attrs.uid ?? -1, attrs.gid ?? -1);
    await handle.sync();
  } catch (err) {
    await handle.close().catch(() => {});
    await rm(staged, { force: true });
    throw err;
  }
  await handle.close();
  return staged;
}

/** Renames the stage file over dest and makes the rename durable. */
export async function commitStageFile(staged: string, dest: string): Promise<void> {
  await rename(staged, dest);
  await fsyncDir(dirname(dest));
}

export async function discardStageFile(staged: string): Promise<void> {
  await rm(staged, { force: true });
}
