import type { EtcdV3Client } from '../client/etcd-v3-client.js';
import { EtcdV3ApiError } from '../client/etcd-v3-errors.js';
import { EndpointsUnavailableError } from '../client/v2-client.js';
import { errorMessage } from '../util/errors.js';
import type { RegisteredKey } from './etcd-v2-store.js';
import type { RegistrationStore, StoreOutcome } from './registration-store.js';

/**
 * The registration on etcd's v3 API: the key is attached to a lease with the
 * TTL, so it disappears with the lease when we stop keeping it alive.
 * create = grant a fresh lease and put the key on it (then revoke the lease
 * it replaces); refresh = one keep-alive of the lease plus a check that the
 * key still holds our value on our lease (a keep-alive writes nothing, so
 * watchers never wake for it); remove = delete the key only while it holds
 * our value, then revoke the lease.
 */
export class EtcdV3RegistrationStore implements RegistrationStore {
  readonly #client: EtcdV3Client;
  readonly #spec: RegisteredKey;
  #lease: string | undefined;

  constructor(client: EtcdV3Client, spec: RegisteredKey) {
    this.#client = client;
    this.#spec = spec;
  }

  /** The lease the key is on, for logs and tests. */
  get lease(): string | undefined {
    return this.#lease;
  }

  create(signal: AbortSignal): Promise<StoreOutcome> {
    return outcomeOf(async () => {
      const { id } = await this.#client.leaseGrant(this.#spec.ttlSeconds, { signal });
      const { endpoint } = await this.#client.put(this.#spec.key, this.#spec.value, { lease: id, signal }).catch(async (err: unknown) => {
        // A lease with nothing on it would linger until its TTL; give it back if we can.
        await this.#client.leaseRevoke(id, { signal }).catch(() => undefined);
        throw err;
      });
      const previous = this.#lease;
      this.#lease = id;
      // The key has moved to the new lease, so revoking the old one deletes nothing of ours.
      if (previous !== undefined && previous !== id) await this.#client.leaseRevoke(previous, { signal }).catch(() => undefined);
      return { kind: 'ok', endpoint };
    });
  }

  refresh(signal: AbortSignal): Promise<StoreOutcome> {
    return outcomeOf(async () => {
      const lease = this.#lease;
      if (lease === undefined) return { kind: 'missing' };
      const { ttl, endpoint } = await this.#client.leaseKeepAliveOnce(lease, { signal });
      if (ttl <= 0) {
        // The lease expired (a pause or an outage longer than the TTL) and took the key with it.
        this.#lease = undefined;
        return { kind: 'missing' };
      }
      const check = await this.#client.txn(
        [
          { key: this.#spec.key, target: 'VALUE', value: this.#spec.value },
          { key: this.#spec.key, target: 'LEASE', lease },
        ],
        [],
        [{ range: { key: this.#spec.key } }],
        { signal },
      );
      if (check.succeeded) return { kind: 'ok', endpoint };
      // Someone else wrote the key (or deleted it): our lease no longer guards it.
      return (check.ranges[0]?.length ?? 0) === 0 ? { kind: 'missing' } : { kind: 'foreign' };
    });
  }

  remove(signal: AbortSignal): Promise<StoreOutcome> {
    return outcomeOf(async () => {
      const result = await this.#client.txn(
        [{ key: this.#spec.key, target: 'VALUE', value: this.#spec.value }],
        [{ deleteRange: { key: this.#spec.key } }],
        [{ range: { key: this.#spec.key } }],
        { signal },
      );
      const lease = this.#lease;
      this.#lease = undefined;
      // Best effort: a lease that cannot be revoked now expires with its TTL.
      if (lease !== undefined) await this.#client.leaseRevoke(lease, { signal }).catch(() => undefined);
      if (result.succeeded) return result.deleted > 0 ? { kind: 'ok', endpoint: result.endpoint } : { kind: 'missing' };
      return (result.ranges[0]?.length ?? 0) === 0 ? { kind: 'missing' } : { kind: 'foreign' };
    });
  }

  async close(): Promise<void> {
    await this.#client.close();
  }
}

async function outcomeOf(operation: () => Promise<StoreOutcome>): Promise<StoreOutcome> {
  try {
    return await operation();
  } catch (err) {
    if (err instanceof EndpointsUnavailableError) return { kind: 'unavailable', error: err.message };
    if (err instanceof EtcdV3ApiError) return { kind: 'failed', error: err.message };
    // Our own abort on shutdown: the operation may or may not have happened.
    if ((err as { name?: unknown }).name === 'AbortError') return { kind: 'unavailable', error: 'aborted' };
    return { kind: 'failed', error: errorMessage(err) };
  }
}
