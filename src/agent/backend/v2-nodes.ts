import type { Change } from './backend.js';

/** The parts of a v2 node (store JSON or HTTP body) that the agent reads. */
export interface V2NodeLike {
  readonly key?: string;
  readonly value?: string;
  readonly dir?: boolean;
  readonly nodes?: readonly V2NodeLike[];
  readonly modifiedIndex?: number;
}

/** Collects every leaf of a recursive v2 GET into `into`. */
export function collectLeaves(node: V2NodeLike, into: Map<string, string>): Map<string, string> {
  if (node.dir === true) {
    for (const child of node.nodes ?? []) collectLeaves(child, into);
  } else if (node.key !== undefined) {
    into.set(node.key, node.value ?? '');
  }
  return into;
}

const REMOVING_ACTIONS = new Set(['delete', 'compareAndDelete', 'expire']);

/** Turns a v2 watch event into a Change. */
export function changeFromV2Event(action: string, node: V2NodeLike): Change {
  const removed = REMOVING_ACTIONS.has(action);
  return {
    index: node.modifiedIndex ?? 0,
    key: node.key ?? '/',
    value: removed || node.dir === true ? undefined : (node.value ?? ''),
    dir: node.dir === true,
    removed,
  };
}

/** True when some segment of `key` below `prefix` is hidden (`_name`): v2 listings leave those out. */
export function isHiddenBelow(prefix: string, key: string): boolean {
  const rest = prefix === '/' ? key : key.slice(prefix.length);
  return /\/_/.test(rest);
}
