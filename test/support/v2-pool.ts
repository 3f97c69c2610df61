import { Pool } from 'undici';
import type { V2Response } from './v2-probe.js';

/**
 * Many concurrent v2 requests over a pool of keep-alive connections, for
 * tests that load a server. A request that gets no complete response rejects
 * (the caller decides what an unanswered write means); any HTTP status
 * resolves.
 */
export class V2Pool {
  readonly #pool: Pool;

  constructor(url: string, connections = 32) {
    this.#pool = new Pool(url, { connections, keepAliveTimeout: 10_000, headersTimeout: 60_000, bodyTimeout: 60_000 });
  }

  async request(method: 'GET' | 'PUT' | 'POST' | 'DELETE', key: string, query = '', form?: Record<string, string>): Promise<V2Response> {
    const path = `/v2/keys${key.startsWith('/') ? '' : '/'}${key.split('/').map(encodeURIComponent).join('/')}${query === '' ? '' : `?${query}`}`;
    const res = await this.#pool.request({
      path,
      method,
      ...(form === undefined
        ? {}
        : { body: new URLSearchParams(form).toString(), headers: { 'content-type': 'application/x-www-form-urlencoded' } }),
    });
    const text = await res.body.text();
    const index = res.headers['x-etcd-index'];
    let body: V2Response['body'];
    try {
      body = text === '' ? {} : (JSON.parse(text) as V2Response['body']);
    } catch {
      throw new Error(`${method} ${path}: ${res.statusCode} with a body that is not JSON: ${text.slice(0, 200)}`);
    }
    return { status: res.statusCode, etcdIndex: Number(typeof index === 'string' ? index : Number.NaN), body };
  }

  put(key: string, form: Record<string, string>, query = ''): Promise<V2Response> {
    return this.request('PUT', key, query, form);
  }

  get(key: string, query = ''): Promise<V2Response> {
    return this.request('GET', key, query);
  }

  async close(): Promise<void> {
    await this.#pool.destroy();
  }
}
