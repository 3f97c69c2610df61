import { StorageArgumentError } from './errors.js';

/*
 * Indexes and terms are stored as u64 but handled as JS numbers, so every
 * value must stay below 2^53 on the way in and is checked on the way out.
 */

const TWO_32 = 0x1_0000_0000;
/** Largest high word that keeps a u64 below 2^53. */
const MAX_HIGH_WORD = 0x1f_ffff;

export function checkU53(name: string, value: number): void {
  if (!Number.isSafeInteger(value) || value < 0) {
    throw new StorageArgumentError(`${name} must be a non-negative integer below 2^53, got ${value}`);
  }
}

export function writeU53(buf: Buffer, offset: number, value: number): void {
  buf.writeUInt32LE(value % TWO_32, offset);
  buf.writeUInt32LE(Math.floor(value / TWO_32), offset + 4);
}

/** Returns -1 for values that do not fit below 2^53. */
export function readU53(buf: Buffer, offset: number): number {
  const high = buf.readUInt32LE(offset + 4);
  if (high > MAX_HIGH_WORD) return -1;
  return high * TWO_32 + buf.readUInt32LE(offset);
}

/** Fixed-width hex used in file names, so names sort in numeric order. */
export function hex16(n: number): string {
  return n.toString(16).padStart(16, '0');
}
