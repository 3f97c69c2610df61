import type { V2Command } from './command.js';
import { ErrorCode, V2Error } from './errors.js';
import { eventIndex, type V2Event } from './event.js';
import { EventHistory } from './event-history.js';
import { KeyNode, PERMANENT } from './node.js';
import type { NodeJson } from './node-json.js';
import { cleanPath, joinPath, splitPath } from './path.js';
import { StoreStats } from './stats.js';
import { TtlHeap } from './ttl-heap.js';
import { WatcherHub, type Watcher, type WatcherSink } from './watcher-hub.js';

export const DEFAULT_HISTORY_SIZE = 1000;

// Deadlines before 2000 come from clients that serialised a zero time; etcd
// treats them as "no TTL" and so do we.
const MIN_EXPIRE_AT = Date.UTC(2000, 0, 1);

type StatKey = 'sets' | 'create' | 'update' | 'compareAndSwap' | 'delete' | 'compareAndDelete';

/**
 * The etcd v2 keyspace as a deterministic state machine: `apply` takes a
 * command and returns the event etcd would return, or throws a V2Error. It
 * does no I/O and reads no clock except through the `now` it is given, which
 * only renders `ttl` fields; expiry itself happens through `expire` commands.
 */
export class V2Store {
  #root = new KeyNode('/', 0, null, PERMANENT, true);
  #index = 0;
  readonly #ttl = new TtlHeap<KeyNode>();
  readonly #hub: WatcherHub;
  readonly stats = new StoreStats();

  constructor(historySize = DEFAULT_HISTORY_SIZE) {
    this.#hub = new WatcherHub(new EventHistory(historySize));
  }

  /** The store's own index: +1 per successful mutation (etcd's CurrentIndex). */
  get index(): number {
    return this.#index;
  }

  get watcherCount(): number {
    return this.#hub.count;
  }

  /** The earliest TTL deadline, for scheduling the next expire command. */
  nextExpiry(): number | undefined {
    return this.#ttl.top()?.expireAt;
  }

  get(rawPath: string, recursive: boolean, sorted: boolean, now: number): V2Event {
    const path = cleanPath(rawPath);
    let node: KeyNode;
    try {
      node = this.#lookup(path);
    } catch (err) {
      this.stats.getsFail += 1;
      throw err;
    }
    this.stats.getsSuccess += 1;
    const json = node.toGetJson(recursive, sorted, now);
    return { action: 'get', node: json, etcdIndex: this.#index };
  }

  /** Ends every watch (their clients see the response end and re-watch), e.g. when a replica replaces this store by a snapshot. */
  endWatchers(): void {
    this.#hub.endAll();
  }

  watch(rawPath: string, recursive: boolean, stream: boolean, sinceIndex: number, sink: WatcherSink): Watcher {
    const path = cleanPath(rawPath);
    const since = sinceIndex === 0 ? this.#index + 1 : sinceIndex;
    return this.#hub.watch(path, recursive, stream, since, this.#index, sink);
  }

  apply(command: V2Command, now: number): V2Event {
    switch (command.op) {
      case 'set':
        return this.#counted('sets', () => this.#set(command.path, command.dir, command.value, command.expireAt, command.refresh, now));
      case 'create':
        return this.#counted('create', () => {
          const event = this.#create(command.path, command.dir, command.value, command.unique, false, command.expireAt, 'create', now);
          this.#hub.notify(event);
          return event;
        });
      case 'update':
        return this.#counted('update', () => this.#update(command.path, command.value, command.expireAt, command.refresh, now));
      case 'compareAndSwap':
        return this.#counted('compareAndSwap', () =>
          this.#compareAndSwap(command.path, command.prevValue, command.prevIndex, command.value, command.expireAt, command.refresh, now),
        );
      case 'delete':
        return this.#counted('delete', () => this.#delete(command.path, command.dir, command.recursive, now));
      case 'compareAndDelete':
        return this.#counted('compareAndDelete', () => this.#compareAndDelete(command.path, command.prevValue, command.prevIndex, now));
      case 'expire':
        return this.#expire(command.now);
    }
  }

  #counted(stat: StatKey, run: () => V2Event): V2Event {
    try {
      const event = run();
      this.stats[`${stat}Success`] += 1;
      return event;
    } catch (err) {
      this.stats[`${stat}Fail`] += 1;
      throw err;
    }
  }

  #set(rawPath: string, dir: boolean, value: string, expireAt: number, refresh: boolean, now: number): V2Event {
    const path = cleanPath(rawPath);
    let prev: KeyNode | undefined;
    try {
      prev = this.#lookup(path);
    } catch (err) {
      if (!(err instanceof V2Error) || err.errorCode !== ErrorCode.KeyNotFound) throw err;
      // A refresh needs the key; like etcd, the error names the first missing path segment.
      if (refresh) throw err;
    }
    if (refresh) value = (prev as KeyNode).value;
    const prevJson = prev === undefined ? undefined : prev.toGetJson(false, false, now);
    const event = this.#create(path, dir, value, false, true, expireAt, 'set', now);
    const full: V2Event = prevJson === undefined ? event : { ...event, prevNode: prevJson };
    this.#publish(full, refresh);
    return full;
  }

  #create(
    rawPath: string,
    dir: boolean,
    value: string,
    unique: boolean,
    replace: boolean,
    expireAt: number,
    action: 'set' | 'create',
    now: number,
  ): V2Event {
    const current = this.#index;
    const next = current + 1;
    let path = cleanPath(rawPath);
    if (unique) path = cleanPath(`${path}/${String(next).padStart(20, '0')}`);
    if (path === '/') throw new V2Error(ErrorCode.RootReadOnly, '/', current);
    if (expireAt < MIN_EXPIRE_AT) expireAt = PERMANENT;

    const { dir: dirPath, name } = splitPath(path);
    const parent = this.#ensureDir(dirPath, next);
    let prevNode: NodeJson | undefined;
    const existing = parent.children?.get(name);
    if (existing !== undefined) {
      if (!replace) throw new V2Error(ErrorCode.NodeExist, path, current);
      if (existing.isDir) throw new V2Error(ErrorCode.NotFile, path, current);
      prevNode = existing.toJson(false, false, now);
      this.#detach(existing, undefined);
    }
    const node = new KeyNode(path, next, parent, expireAt, dir, dir ? '' : value);
    parent.children?.set(name, node);
    if (!node.isPermanent) this.#ttl.push(node);
    this.#index = next;

    const json: NodeJson = { key: path };
    if (dir) json.dir = true;
    else json.value = value;
    Object.assign(json, node.expirationFields(now));
    json.modifiedIndex = next;
    json.createdIndex = next;
    const event: V2Event = { action, node: json, etcdIndex: next };
    return prevNode === undefined ? event : { ...event, prevNode };
  }

  #update(rawPath: string, value: string, expireAt: number, refresh: boolean, now: number): V2Event {
    const path = cleanPath(rawPath);
    if (path === '/') throw new V2Error(ErrorCode.RootReadOnly, '/', this.#index);
    const node = this.#lookup(path);
    if (node.isDir && value.length !== 0) throw new V2Error(ErrorCode.NotFile, path, this.#index);
    if (refresh) value = node.value;
    const next = this.#index + 1;
    const prevNode = node.toJson(false, false, now);
    // etcd's node.Write refuses directories, so an update (updatedir) leaves a
    // directory's stored modifiedIndex alone even though the event shows `next`.
    if (!node.isDir) {
      node.value = value;
      node.modifiedIndex = next;
    }
    this.#setExpiry(node, expireAt);
    const json: NodeJson = { key: path };
    if (node.isDir) json.dir = true;
    else json.value = value;
    Object.assign(json, node.expirationFields(now));
    json.modifiedIndex = next;
    json.createdIndex = node.createdIndex;
    this.#index = next;
    const event: V2Event = { action: 'update', node: json, prevNode, etcdIndex: next };
    this.#publish(event, refresh);
    return event;
  }

  #compareAndSwap(rawPath: string, prevValue: string, prevIndex: number, value: string, expireAt: number, refresh: boolean, now: number): V2Event {
    const path = cleanPath(rawPath);
    if (path === '/') throw new V2Error(ErrorCode.RootReadOnly, '/', this.#index);
    const node = this.#lookup(path);
    if (node.isDir) throw new V2Error(ErrorCode.NotFile, path, this.#index);
    this.#checkCompare(node, prevValue, prevIndex);
    if (refresh) value = node.value;
    const next = this.#index + 1;
    const prevNode = node.toJson(false, false, now);
    node.value = value;
    node.modifiedIndex = next;
    this.#setExpiry(node, expireAt);
    this.#index = next;
    const json: NodeJson = { key: path, value, ...node.expirationFields(now), modifiedIndex: next, createdIndex: node.createdIndex };
    const event: V2Event = { action: 'compareAndSwap', node: json, prevNode, etcdIndex: next };
    this.#publish(event, refresh);
    return event;
  }

  #delete(rawPath: string, dir: boolean, recursive: boolean, now: number): V2Event {
    const path = cleanPath(rawPath);
    if (path === '/') throw new V2Error(ErrorCode.RootReadOnly, '/', this.#index);
    if (recursive) dir = true;
    const node = this.#lookup(path);
    if (node.isDir) {
      if (!dir) throw new V2Error(ErrorCode.NotFile, path, this.#index);
      if ((node.children as Map<string, KeyNode>).size !== 0 && !recursive) throw new V2Error(ErrorCode.DirNotEmpty, path, this.#index);
    }
    const next = this.#index + 1;
    const json: NodeJson = { key: path };
    if (node.isDir) json.dir = true;
    json.modifiedIndex = next;
    json.createdIndex = node.createdIndex;
    const event: V2Event = { action: 'delete', node: json, prevNode: node.toJson(false, false, now), etcdIndex: next };
    this.#detach(node, event);
    this.#index = next;
    this.#hub.notify(event);
    return event;
  }

  #compareAndDelete(rawPath: string, prevValue: string, prevIndex: number, now: number): V2Event {
    const path = cleanPath(rawPath);
    const node = this.#lookup(path);
    // etcd strips its keyspace prefix from causes, which leaves nothing for the root.
    if (node.isDir) throw new V2Error(ErrorCode.NotFile, path === '/' ? '' : path, this.#index);
    this.#checkCompare(node, prevValue, prevIndex);
    const next = this.#index + 1;
    const json: NodeJson = { key: path, modifiedIndex: next, createdIndex: node.createdIndex };
    const event: V2Event = { action: 'compareAndDelete', node: json, prevNode: node.toJson(false, false, now), etcdIndex: next };
    this.#index = next;
    this.#detach(node, event);
    this.#hub.notify(event);
    return event;
  }

  /** Deletes every node whose deadline is at or before `cutoff`; returns the last expire event (or a get of "/" if none). */
  #expire(cutoff: number): V2Event {
    let last: V2Event | undefined;
    for (;;) {
      const node = this.#ttl.top();
      if (node === undefined || node.expireAt > cutoff) break;
      const next = this.#index + 1;
      this.#index = next;
      const json: NodeJson = { key: node.path };
      if (node.isDir) json.dir = true;
      json.modifiedIndex = next;
      json.createdIndex = node.createdIndex;
      const event: V2Event = { action: 'expire', node: json, prevNode: node.toJson(false, false, cutoff), etcdIndex: next };
      this.#ttl.pop();
      this.#detach(node, event);
      this.stats.expireCount += 1;
      this.#hub.notify(event);
      last = event;
    }
    return last ?? { action: 'get', node: {}, etcdIndex: this.#index };
  }

  #checkCompare(node: KeyNode, prevValue: string, prevIndex: number): void {
    const result = node.compare(prevValue, prevIndex);
    if (result === 'match') return;
    const cause =
      result === 'index'
        ? `[${prevIndex} != ${node.modifiedIndex}]`
        : result === 'value'
          ? `[${prevValue} != ${node.value}]`
          : `[${prevValue} != ${node.value}] [${prevIndex} != ${node.modifiedIndex}]`;
    throw new V2Error(ErrorCode.TestFailed, cause, this.#index);
  }

  #publish(event: V2Event, refresh: boolean): void {
    if (refresh) {
      const recorded: V2Event = { ...event, refresh: true };
      this.#hub.record(recorded);
    } else {
      this.#hub.notify(event);
    }
  }

  #setExpiry(node: KeyNode, expireAt: number): void {
    if (expireAt === PERMANENT) {
      if (!node.isPermanent) {
        node.expireAt = PERMANENT;
        this.#ttl.remove(node);
      }
      return;
    }
    const wasPermanent = node.isPermanent;
    node.expireAt = expireAt;
    if (wasPermanent) this.#ttl.push(node);
    else this.#ttl.update(node);
  }

  #lookup(path: string): KeyNode {
    let node = this.#root;
    if (path === '/') return node;
    let start = 1;
    while (start <= path.length) {
      let end = path.indexOf('/', start);
      if (end === -1) end = path.length;
      const name = path.slice(start, end);
      if (node.children === null) throw new V2Error(ErrorCode.NotDir, node.path, this.#index);
      const child = node.children.get(name);
      if (child === undefined) throw new V2Error(ErrorCode.KeyNotFound, joinPath(node.path, name), this.#index);
      node = child;
      start = end + 1;
    }
    return node;
  }

  /** Walks to `dirPath`, creating missing directories with `createdIndex`; a key on the way is error 104. */
  #ensureDir(dirPath: string, createdIndex: number): KeyNode {
    let node = this.#root;
    if (dirPath === '/') return node;
    for (const name of dirPath.slice(1).split('/')) {
      const children = node.children as Map<string, KeyNode>;
      let child = children.get(name);
      if (child === undefined) {
        child = new KeyNode(joinPath(node.path, name), createdIndex, node, PERMANENT, true);
        children.set(name, child);
      } else if (!child.isDir) {
        throw new V2Error(ErrorCode.NotDir, child.path, this.#index);
      }
      node = child;
    }
    return node;
  }

  /** Unlinks a subtree, dropping TTLs and ending watches inside it (when an event is given). */
  #detach(node: KeyNode, event: V2Event | undefined): void {
    if (node.children !== null) {
      for (const child of node.children.values()) this.#detach(child, event);
    }
    const parent = node.parent;
    if (parent?.children?.get(node.name) === node) parent.children.delete(node.name);
    if (!node.isPermanent) this.#ttl.remove(node);
    if (event !== undefined) this.#hub.notifyPath(event, node.path, true);
  }

  // ----- snapshots -------------------------------------------------------

  /** The whole state (tree, index, event history) as JSON bytes. */
  save(): Uint8Array {
    const snapshot: StoreSnapshot = {
      version: 1,
      index: this.#index,
      root: serializeNode(this.#root),
      history: this.#hub.history.toArray(),
      stats: { ...this.stats },
    };
    return Buffer.from(JSON.stringify(snapshot));
  }

  static restore(bytes: Uint8Array, historySize = DEFAULT_HISTORY_SIZE): V2Store {
    const snapshot = JSON.parse(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('utf8')) as StoreSnapshot;
    if (snapshot.version !== 1) throw new Error(`unsupported store snapshot version ${String(snapshot.version)}`);
    const store = new V2Store(historySize);
    store.#index = snapshot.index;
    store.#root = store.#deserialize(snapshot.root, null, '/');
    for (const event of snapshot.history) store.#hub.history.add(event);
    Object.assign(store.stats, snapshot.stats);
    return store;
  }

  #deserialize(data: SerializedNode, parent: KeyNode | null, path: string): KeyNode {
    const node = new KeyNode(path, data.c, parent, data.e ?? PERMANENT, data.n !== undefined, data.v ?? '');
    node.modifiedIndex = data.m;
    if (!node.isPermanent) this.#ttl.push(node);
    if (data.n !== undefined) {
      for (const [name, child] of Object.entries(data.n)) {
        node.children?.set(name, this.#deserialize(child, node, joinPath(path, name)));
      }
    }
    return node;
  }
}

interface SerializedNode {
  c: number;
  m: number;
  e?: number;
  v?: string;
  n?: Record<string, SerializedNode>;
}

interface StoreSnapshot {
  version: 1;
  index: number;
  root: SerializedNode;
  history: V2Event[];
  stats: Partial<StoreStats>;
}

function serializeNode(node: KeyNode): SerializedNode {
  const out: SerializedNode = { c: node.createdIndex, m: node.modifiedIndex };
  if (!node.isPermanent) out.e = node.expireAt;
  if (node.children === null) {
    out.v = node.value;
  } else {
    const children: Record<string, SerializedNode> = {};
    for (const [name, child] of node.children) children[name] = serializeNode(child);
    out.n = children;
  }
  return out;
}

export { eventIndex };
