import { EndpointsUnavailableError, V2ApiError, type V2Client } from '../client/v2-client.js';
import { errorMessage } from '../util/errors.js';
import type { RegistrationStore, StoreOutcome } from './registration-store.js';

const KEY_NOT_FOUND = 100;
const COMPARE_FAILED = 101;

export interface RegisteredKey {
  readonly key: string;
  readonly value: string;
  readonly ttlSeconds: number;
}

/**
 * The registration on the etcd v2 keys API (Cairn, or etcd with
 * --enable-v2). A refresh is `refresh=true` with no value, guarded by
 * `prevExist` and our value, so it neither wakes watchers nor keeps alive a
 * value someone else wrote.
 */
export class EtcdV2RegistrationStore implements RegistrationStore {
  readonly #client: V2Client;
  readonly #spec: RegisteredKey;
  // etcd refuses an empty prevValue (error 201), so an empty value is registered without the guard.
  readonly #guard: string | undefined;

  constructor(client: V2Client, spec: RegisteredKey) {
    this.#client = client;
    this.#spec = spec;
    this.#guard = spec.value === '' ? undefined : spec.value;
  }

  create(signal: AbortSignal): Promise<StoreOutcome> {
    return outcomeOf(this.#client.set(this.#spec.key, this.#spec.value, { ttl: this.#spec.ttlSeconds, signal }));
  }

  refresh(signal: AbortSignal): Promise<StoreOutcome> {
    return outcomeOf(
      this.#client.set(this.#spec.key, undefined, {
        refresh: true,
        prevExist: true,
        ...(this.#guard === undefined ? {} : { prevValue: this.#guard }),
        ttl: this.#spec.ttlSeconds,
        signal,
      }),
    );
  }

  remove(signal: AbortSignal): Promise<StoreOutcome> {
    return outcomeOf(this.#client.delete(this.#spec.key, { ...(this.#guard === undefined ? {} : { prevValue: this.#guard }), signal }));
  }

  async close(): Promise<void> {
    await this.#client.close();
  }
}

async function outcomeOf(request: Promise<{ endpoint: string }>): Promise<StoreOutcome> {
  try {
    const { endpoint } = await request;
    return { kind: 'ok', endpoint };
  } catch (err) {
    if (err instanceof V2ApiError) {
      if (err.errorCode === KEY_NOT_FOUND) return { kind: 'missing' };
      if (err.errorCode === COMPARE_FAILED) return { kind: 'foreign' };
      return { kind: 'failed', error: err.message };
    }
    if (err instanceof EndpointsUnavailableError) return { kind: 'unavailable', error: err.message };
    // Our own abort on shutdown: the operation may or may not have happened.
    if ((err as { name?: unknown }).name === 'AbortError') return { kind: 'unavailable', error: 'aborted' };
    return { kind: 'failed', error: errorMessage(err) };
  }
}
