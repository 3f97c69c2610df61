import { goTime } from './go-json.js';
import { compareNodeKeys, type NodeJson } from './node-json.js';
import type { Expiring } from './ttl-heap.js';

/** 0 marks a node without a TTL (Go's zero time in etcd). */
export const PERMANENT = 0;

/** One key or directory of the keyspace tree. */
export class KeyNode implements Expiring {
  readonly path: string;
  readonly createdIndex: number;
  modifiedIndex: number;
  parent: KeyNode | null;
  expireAt: number;
  heapIndex = -1;
  value: string;
  /** Present exactly when the node is a directory. */
  readonly children: Map<string, KeyNode> | null;

  constructor(path: string, createdIndex: number, parent: KeyNode | null, expireAt: number, dir: boolean, value = '') {
    this.path = path;
    this.createdIndex = createdIndex;
    this.modifiedIndex = createdIndex;
    this.parent = parent;
    this.expireAt = expireAt;
    this.value = value;
    this.children = dir ? new Map() : null;
  }

  get isDir(): boolean {
    return this.children !== null;
  }

  get name(): string {
    return this.path.slice(this.path.lastIndexOf('/') + 1);
  }

  get isHidden(): boolean {
    return this.name.startsWith('_');
  }

  get isPermanent(): boolean {
    return this.expireAt === PERMANENT;
  }

  get isRoot(): boolean {
    return this.parent === null;
  }

  /** `expiration` and `ttl` as etcd computes them: ttl is the ceiling of the seconds left. */
  expirationFields(now: number): { expiration?: string; ttl?: number } {
    if (this.isPermanent) return {};
    const left = this.expireAt - now;
    let ttl = Math.trunc(left / 1000);
    if (left % 1000 > 0) ttl += 1;
    return ttl === 0 ? { expiration: goTime(this.expireAt) } : { expiration: goTime(this.expireAt), ttl };
  }

  /** The node as a listing shows it; children only when `recursive`, hidden ones left out. */
  toJson(recursive: boolean, sorted: boolean, now: number): NodeJson {
    const json: NodeJson = this.isRoot ? {} : { key: this.path };
    if (this.children === null) {
      json.value = this.value;
    } else {
      json.dir = true;
    }
    Object.assign(json, this.expirationFields(now));
    if (this.children !== null && recursive) {
      const nodes = this.visibleChildren(recursive, sorted, now);
      if (nodes.length > 0) json.nodes = nodes;
    }
    if (this.modifiedIndex !== 0) json.modifiedIndex = this.modifiedIndex;
    if (this.createdIndex !== 0) json.createdIndex = this.createdIndex;
    return json;
  }

  /** The node as a GET of its own path shows it: a directory always lists its direct children. */
  toGetJson(recursive: boolean, sorted: boolean, now: number): NodeJson {
    if (this.children === null) return this.toJson(false, false, now);
    const json: NodeJson = this.isRoot ? {} : { key: this.path };
    json.dir = true;
    Object.assign(json, this.expirationFields(now));
    const nodes = this.visibleChildren(recursive, sorted, now);
    if (nodes.length > 0) json.nodes = nodes;
    if (this.modifiedIndex !== 0) json.modifiedIndex = this.modifiedIndex;
    if (this.createdIndex !== 0) json.createdIndex = this.createdIndex;
    return json;
  }

  visibleChildren(recursive: boolean, sorted: boolean, now: number): NodeJson[] {
    const nodes: NodeJson[] = [];
    for (const child of (this.children as Map<string, KeyNode>).values()) {
      if (!child.isHidden) nodes.push(child.toJson(recursive, sorted, now));
    }
    if (sorted) nodes.sort(compareNodeKeys);
    return nodes;
  }

  /** Whether the node matches a compare-and-swap; which part failed decides etcd's cause text. */
  compare(prevValue: string, prevIndex: number): 'match' | 'index' | 'value' | 'both' {
    const indexMatch = prevIndex === 0 || this.modifiedIndex === prevIndex;
    const valueMatch = prevValue === '' || this.value === prevValue;
    if (indexMatch && valueMatch) return 'match';
    if (indexMatch) return 'value';
    if (valueMatch) return 'index';
    return 'both';
  }
}
