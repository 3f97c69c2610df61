/**
 * How one store operation on the registered key ended. Backends map their
 * own errors onto these so the state machine never sees a transport or an
 * API error type.
 */
export type StoreOutcome =
  /** Done; `endpoint` names the server that answered, when the backend knows it. */
  | { readonly kind: 'ok'; readonly endpoint?: string }
  /** refresh/remove: the key is not there (expired, deleted, lease gone). */
  | { readonly kind: 'missing' }
  /** refresh/remove: the key holds a value that is not ours. */
  | { readonly kind: 'foreign' }
  /** No server answered (connection refused, timeout, reset). */
  | { readonly kind: 'unavailable'; readonly error: string }
  /** A server answered with an error other than the two above. */
  | { readonly kind: 'failed'; readonly error: string };

export type StoreOperation = 'create' | 'refresh' | 'remove';

/**
 * The three things `cairn register` does to its key. The etcd v2 backend
 * maps them to a PUT with a TTL, a `refresh=true` PUT and a compare-and-
 * delete; an etcd v3 backend would map them to lease grant + put, one
 * keep-alive, and a value-guarded delete + lease revoke.
 */
export interface RegistrationStore {
  /** Writes the key with our value and a fresh TTL, whatever it held before. */
  create(signal: AbortSignal): Promise<StoreOutcome>;
  /** Extends the TTL of the key if it still holds our value, without waking watchers. */
  refresh(signal: AbortSignal): Promise<StoreOutcome>;
  /** Deletes the key only while it still holds our value. */
  remove(signal: AbortSignal): Promise<StoreOutcome>;
  close(): Promise<void>;
}
