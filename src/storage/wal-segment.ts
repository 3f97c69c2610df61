import { readdir, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { WalCorruptError } from './errors.js';
import { TEMP_SUFFIX, fsyncDir } from './fsutil.js';
import { hex16 } from './numbers.js';

const SEGMENT_NAME = /^([0-9a-f]{16})-([0-9a-f]{16})\.wal$/;

/** One `<seq>-<first index>.wal` file, as the WAL tracks it. */
export interface Segment {
  readonly seq: number;
  readonly name: string;
  size: number;
  /** Highest entry index ever written to this segment (0 when none); later truncation does not lower it. */
  maxEntryIndex: number;
}

export function segmentName(seq: number, firstIndex: number): string {
  return `${hex16(seq)}-${hex16(firstIndex)}.wal`;
}

/**
 * The directory's segments in sequence order, after deleting leftovers of
 * segment creations that were interrupted before their rename.
 */
export async function listSegments(dir: string): Promise<Segment[]> {
  const names = await readdir(dir);
  let removedTemp = false;
  for (const name of names) {
    if (name.startsWith('.') && name.endsWith(TEMP_SUFFIX)) {
      await unlink(join(dir, name));
      removedTemp = true;
    }
  }
  if (removedTemp) await fsyncDir(dir);

  const segments: Segment[] = [];
  for (const name of names) {
    const m = SEGMENT_NAME.exec(name);
    if (m?.[1] !== undefined) segments.push({ seq: parseInt(m[1], 16), name, size: 0, maxEntryIndex: 0 });
  }
  segments.sort((a, b) => a.seq - b.seq);
  for (let i = 1; i < segments.length; i++) {
    const prev = segments[i - 1] as Segment;
    const seg = segments[i] as Segment;
    // Segments are only ever removed from the front, so a hole means a lost file.
    if (seg.seq !== prev.seq + 1) {
      throw new WalCorruptError(join(dir, seg.name), 0, `segment ${hex16(prev.seq + 1)} is missing`);
    }
  }
  return segments;
}
