/**
 * Small HTTP reads and clean-ups against an etcd-v2-compatible server, used by
 * client tests to prepare the keyspace and to know when a watcher is live.
 */

export interface V2NodeJson {
  key?: string;
  value?: string;
  dir?: boolean;
  nodes?: V2NodeJson[];
  createdIndex?: number;
  modifiedIndex?: number;
  expiration?: string;
  ttl?: number;
}

export interface V2Response {
  readonly status: number;
  readonly etcdIndex: number;
  readonly body: {
    action?: string;
    node?: V2NodeJson;
    prevNode?: V2NodeJson;
    errorCode?: number;
    message?: string;
    cause?: string;
    index?: number;
  };
}

function keyUrl(base: string, key: string, query = ''): string {
  const path = key.split('/').map(encodeURIComponent).join('/');
  return `${base}/v2/keys${path.startsWith('/') ? '' : '/'}${path}${query === '' ? '' : `?${query}`}`;
}

async function call(url: string, init: RequestInit): Promise<V2Response> {
  const res = await fetch(url, init);
  const text = await res.text();
  return {
    status: res.status,
    etcdIndex: Number(res.headers.get('x-etcd-index')),
    body: text === '' ? {} : (JSON.parse(text) as V2Response['body']),
  };
}

export async function v2Get(base: string, key: string, query = ''): Promise<V2Response> {
  return call(keyUrl(base, key, query), { method: 'GET' });
}

export async function v2Put(base: string, key: string, form: Record<string, string>, query = ''): Promise<V2Response> {
  return call(keyUrl(base, key, query), {
    method: 'PUT',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams(form).toString(),
  });
}

export async function v2Delete(base: string, key: string, query = ''): Promise<V2Response> {
  return call(keyUrl(base, key, query), { method: 'DELETE' });
}

/** The store's current index, as X-Etcd-Index reports it. */
export async function storeIndex(base: string): Promise<number> {
  const res = await v2Get(base, '/');
  if (!Number.isFinite(res.etcdIndex)) throw new Error(`no X-Etcd-Index from ${base}`);
  return res.etcdIndex;
}

/** How many watchers the server holds, from /v2/stats/store. */
export async function watcherCount(base: string): Promise<number> {
  const res = await fetch(`${base}/v2/stats/store`);
  const stats = (await res.json()) as { watchers?: unknown };
  if (typeof stats.watchers !== 'number') throw new Error(`/v2/stats/store has no "watchers" number: ${JSON.stringify(stats)}`);
  return stats.watchers;
}

/**
 * Removes every top-level node, plus the hidden ones named (a listing leaves
 * hidden nodes out, so the caller must say which it created).
 */
export async function wipeKeyspace(base: string, hidden: readonly string[] = []): Promise<void> {
  const root = await v2Get(base, '/');
  const keys = (root.body.node?.nodes ?? []).map((n) => n.key ?? '');
  for (const key of [...keys, ...hidden]) {
    if (key === '') continue;
    const res = await v2Delete(base, key, 'recursive=true');
    if (res.status !== 200 && res.body.errorCode !== 100) {
      throw new Error(`could not delete ${key}: ${res.status} ${JSON.stringify(res.body)}`);
    }
  }
}
