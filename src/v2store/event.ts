import { goJson } from './go-json.js';
import type { NodeJson } from './node-json.js';

export type V2Action = 'get' | 'set' | 'create' | 'update' | 'delete' | 'compareAndSwap' | 'compareAndDelete' | 'expire';

/** What a v2 request returns and what watchers receive: `{action, node, prevNode}`. */
export interface V2Event {
  readonly action: V2Action;
  readonly node: NodeJson;
  readonly prevNode?: NodeJson;
  /** The store index after the operation; sent as X-Etcd-Index, never in the body. */
  etcdIndex: number;
  /** A TTL refresh: kept in history, never delivered to watchers. */
  readonly refresh?: true;
}

export function eventIndex(event: V2Event): number {
  return event.node.modifiedIndex ?? 0;
}

/** 201 Created answers a create, and a set that did not replace anything. */
export function isCreated(event: V2Event): boolean {
  return event.action === 'create' || (event.action === 'set' && event.prevNode === undefined);
}

const bodyCache = new WeakMap<V2Event, string>();

/** The response body line, cached because many watchers often send the same event. */
export function eventBody(event: V2Event): string {
  let body = bodyCache.get(event);
  if (body === undefined) {
    const shown: { action: V2Action; node: NodeJson; prevNode?: NodeJson } = { action: event.action, node: event.node };
    if (event.prevNode !== undefined) shown.prevNode = event.prevNode;
    body = `${goJson(shown)}\n`;
    bodyCache.set(event, body);
  }
  return body;
}
