import type { HelperCall } from './helper-call.js';

/** A helper: how many positional arguments it takes and what it does with them. */
export interface HelperSpec {
  readonly min: number;
  readonly max: number;
  readonly run: (call: HelperCall, args: readonly unknown[]) => unknown;
}

export type HelperTable = Readonly<Record<string, HelperSpec>>;

export function spec(min: number, max: number, run: HelperSpec['run']): HelperSpec {
  return { min, max, run };
}
