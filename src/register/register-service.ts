import { EtcdV3Client } from '../client/etcd-v3-client.js';
import { V2Client } from '../client/v2-client.js';
import type { Logger } from '../log/logger.js';
import { EtcdV2RegistrationStore } from './etcd-v2-store.js';
import { EtcdV3RegistrationStore } from './etcd-v3-store.js';
import type { RegisterConfig } from './register-config.js';
import { Registration, type RegistrationTiming } from './registration.js';
import type { RegistrationStore } from './registration-store.js';
import { runRegistration } from './run-registration.js';

function clamp(value: number, low: number, high: number): number {
  return Math.min(Math.max(value, low), high);
}

/**
 * Timings derived from the TTL. Refreshing at a third of it leaves two more
 * tries before expiry; retries stay within one refresh period. A request
 * may take a refresh period too (so that a hung endpoint cannot eat the
 * whole TTL), but at least 2 s: a store stalled on fsync is not a dead one.
 */
export function timingForTtl(ttlSeconds: number): RegistrationTiming & { requestTimeoutMs: number; stopTimeoutMs: number } {
  const refreshMs = (ttlSeconds * 1000) / 3;
  const capMs = clamp(refreshMs, 1_000, 5_000);
  return {
    refreshMs,
    retry: { baseMs: Math.min(250, capMs), capMs },
    requestTimeoutMs: clamp(refreshMs, 2_000, 5_000),
    // Past the TTL the key is gone anyway.
    stopTimeoutMs: clamp(ttlSeconds * 1000, 2_000, 10_000),
  };
}

/** The store behind `--backend`: a TTL key on the v2 API, or a key on a kept-alive lease on the v3 API. */
export function createRegistrationStore(config: RegisterConfig, requestTimeoutMs: number): RegistrationStore {
  switch (config.backend) {
    case 'etcd': {
      const client = new V2Client({
        endpoints: config.endpoints,
        tls: config.tls,
        ...(config.username === undefined ? {} : { username: config.username }),
        ...(config.password === undefined ? {} : { password: config.password }),
        requestTimeoutMs,
      });
      return new EtcdV2RegistrationStore(client, { key: config.key, value: config.value, ttlSeconds: config.ttlSeconds });
    }
    case 'etcdv3': {
      const client = new EtcdV3Client({
        endpoints: config.endpoints,
        tls: config.tls,
        ...(config.username === undefined ? {} : { username: config.username }),
        ...(config.password === undefined ? {} : { password: config.password }),
        requestTimeoutMs,
      });
      return new EtcdV3RegistrationStore(client, { key: config.key, value: config.value, ttlSeconds: config.ttlSeconds });
    }
  }
}

/** Keeps the key registered until `stop` fires, then removes it. Resolves true when it was removed. */
export async function registerService(config: RegisterConfig, logger: Logger, stop: AbortSignal): Promise<boolean> {
  const timing = timingForTtl(config.ttlSeconds);
  const store = createRegistrationStore(config, timing.requestTimeoutMs);
  try {
    return await runRegistration({
      registration: new Registration({ timing, checked: config.check !== undefined }),
      store,
      ...(config.check === undefined ? {} : { check: config.check }),
      logger,
      stop,
      stopTimeoutMs: timing.stopTimeoutMs,
    });
  } finally {
    await store.close();
  }
}
