/**
 * A mutation of the keyspace, as it is written to the log and replayed.
 * Every input that affects the outcome is inside the command (expiry instants
 * are absolute, chosen by the node that took the request), so applying the
 * same commands in the same order yields the same store on every replica and
 * after every restart.
 */
export type V2Command =
  | { readonly op: 'set'; readonly path: string; readonly value: string; readonly dir: boolean; readonly expireAt: number; readonly refresh: boolean }
  | { readonly op: 'create'; readonly path: string; readonly value: string; readonly dir: boolean; readonly unique: boolean; readonly expireAt: number }
  | { readonly op: 'update'; readonly path: string; readonly value: string; readonly expireAt: number; readonly refresh: boolean }
  | {
      readonly op: 'compareAndSwap';
      readonly path: string;
      readonly prevValue: string;
      readonly prevIndex: number;
      readonly value: string;
      readonly expireAt: number;
      readonly refresh: boolean;
    }
  | { readonly op: 'delete'; readonly path: string; readonly dir: boolean; readonly recursive: boolean }
  | { readonly op: 'compareAndDelete'; readonly path: string; readonly prevValue: string; readonly prevIndex: number }
  /** Removes every key whose deadline is at or before `now` (etcd's SYNC). */
  | { readonly op: 'expire'; readonly now: number };

const encoder = new TextEncoder();
const decoder = new TextDecoder();

export function encodeCommand(command: V2Command): Uint8Array {
  return encoder.encode(JSON.stringify(command));
}

export function decodeCommand(bytes: Uint8Array): V2Command {
  return JSON.parse(decoder.decode(bytes)) as V2Command;
}
