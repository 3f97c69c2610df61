import { basename } from 'node:path';
import type { Logger } from '../log/logger.js';
import { backoffDelay, sleep, type BackoffPolicy } from '../util/backoff.js';
import type { Backend } from './backend/backend.js';
import { KeyMirror } from './key-mirror.js';
import { PrefixFeed } from './prefix-feed.js';
import { Quiescence, type WaitSpec } from './quiescence.js';
import type { CatalogProblem, ResourceCatalog } from './resource-catalog.js';
import type { ResourceEntry } from './resource-entry.js';
import { DEFAULT_COMMAND_TIMEOUT_MS, runReloads, syncResource, type FailedStage, type SyncOptions } from './sync-resource.js';

export type ResultStage = FailedStage | 'backend' | 'reload' | 'load';

export interface ResourceResult {
  readonly name: string;
  readonly file: string;
  readonly status: 'unchanged' | 'updated' | 'wouldChange' | 'failed';
  readonly stage?: ResultStage;
  readonly message?: string;
}

/** The write-path settings (noop, syncOnly, keepStageFile, env, print, logger) plus where keys come from and when to render. */
export interface AgentRunnerOptions extends Omit<SyncOptions, 'changedKeys'> {
  readonly backend: Backend;
  readonly catalog: ResourceCatalog;
  readonly wait: WaitSpec | undefined;
  /** --interval: polling period, or with --watch the reconciliation period. */
  readonly intervalMs: number | undefined;
}

const RETRY: BackoffPolicy = { baseMs: 2_000, capMs: 5 * 60_000 };

interface RunningFeed {
  readonly feed: PrefixFeed;
  readonly controller: AbortController;
  readonly done: Promise<void>;
}

function resourceName(entry: ResourceEntry): string {
  return entry.spec.name;
}

function loadFailure(problem: CatalogProblem): ResourceResult {
  return { name: basename(problem.file, '.toml'), file: problem.file, status: 'failed', stage: 'load', message: problem.message };
}

/**
 * Turns keys into config files: one pass for --onetime, a poll loop for
 * --interval, and for --watch one feed per key prefix that marks the
 * resources reading it dirty. Dirty resources are synced in batches (after
 * the --wait quiet period); a batch runs each distinct reload command once.
 * A resource that fails is retried on its next change, on the interval tick
 * and on a backoff timer, and never stops the others.
 */
export class AgentRunner {
  readonly #options: AgentRunnerOptions;
  readonly #logger: Logger;
  #entries: readonly ResourceEntry[] = [];
  readonly #feeds = new Map<string, RunningFeed>();
  readonly #dirty = new Map<string, Set<string>>();
  readonly #lastFailure = new Map<string, string>();
  readonly #retryAttempts = new Map<string, number>();
  readonly #retryTimers = new Map<string, NodeJS.Timeout>();
  readonly #quiescence: Quiescence;
  #draining: Promise<void> | undefined;
  #drainAgain = false;
  #signal: AbortSignal | undefined;
  #mode: 'once' | 'interval' | 'watch' = 'once';
  #wakeInterval: AbortController | undefined;

  constructor(options: AgentRunnerOptions) {
    this.#options = options;
    this.#logger = options.logger;
    this.#quiescence = new Quiescence(options.wait, () => void this.#drain());
  }

  /** --onetime: load, list every prefix once, sync every resource. Problems come back as failed results. */
  async runOnce(): Promise<ResourceResult[]> {
    const load = await this.#options.catalog.load();
    this.#entries = load.entries;
    const failedLoads = load.problems.filter((p) => !p.keptPrevious).map(loadFailure);
    return [...failedLoads, ...(await this.#pollPass())];
  }

  /** --interval without --watch: a pass every period until `signal` aborts. */
  async runInterval(signal: AbortSignal): Promise<void> {
    this.#signal = signal;
    this.#mode = 'interval';
    await this.#loadCatalog();
    while (!signal.aborted) {
      this.#report(await this.#pollPass());
      const wake = new AbortController();
      this.#wakeInterval = wake;
      await sleep(this.#options.intervalMs ?? 60_000, AbortSignal.any([signal, wake.signal]));
    }
  }

  /** --watch (optionally with --interval for reconciliation) until `signal` aborts. */
  async runWatch(signal: AbortSignal): Promise<void> {
    this.#signal = signal;
    this.#mode = 'watch';
    if (!this.#options.backend.watchable) {
      this.#logger.warn({ backend: this.#options.backend.name }, 'this backend never changes: rendering once, then only on template or resource changes');
    }
    await this.#loadCatalog();
    let reconcile: NodeJS.Timeout | undefined;
    if (this.#options.intervalMs !== undefined) {
      reconcile = setInterval(() => this.#reconcile(), this.#options.intervalMs);
    }
    await new Promise<void>((resolve) => {
      if (signal.aborted) resolve();
      else signal.addEventListener('abort', () => resolve(), { once: true });
    });
    if (reconcile !== undefined) clearInterval(reconcile);
    this.#quiescence.cancel();
    for (const timer of this.#retryTimers.values()) clearTimeout(timer);
    const feeds = [...this.#feeds.values()];
    for (const running of feeds) running.controller.abort();
    await Promise.all(feeds.map((r) => r.done));
    await this.#draining;
  }

  /** SIGHUP or a change under conf.d/ or templates/: reload, re-subscribe, re-render everything. */
  async reloadConfig(): Promise<void> {
    await this.#loadCatalog();
  }

  async #loadCatalog(): Promise<void> {
    let load;
    try {
      load = await this.#options.catalog.load();
    } catch (err) {
      this.#logger.error({ err: (err as Error).message }, 'cannot load template resources; keeping the current ones');
      return;
    }
    this.#entries = load.entries;
    this.#logger.info({ resources: this.#entries.map(resourceName), rejected: load.problems.length }, 'template resources loaded');
    if (this.#mode === 'watch') {
      this.#syncFeeds();
      for (const entry of this.#entries) this.#markDirty(resourceName(entry), []);
    }
    // An interval pass re-renders everything anyway; just do it now rather than at the next tick.
    this.#wakeInterval?.abort();
  }

  #syncFeeds(): void {
    const wanted = new Set(this.#entries.flatMap((e) => e.spec.backendKeys));
    for (const [prefix, running] of this.#feeds) {
      if (!wanted.has(prefix)) {
        running.controller.abort();
        this.#feeds.delete(prefix);
      }
    }
    for (const prefix of wanted) {
      if (this.#feeds.has(prefix)) continue;
      const controller = new AbortController();
      const feed = new PrefixFeed(this.#options.backend, prefix, this.#logger, (p, keys) => this.#onFeedChange(p, keys));
      this.#feeds.set(prefix, { feed, controller, done: feed.run(controller.signal) });
    }
  }

  #onFeedChange(prefix: string, keys: readonly string[]): void {
    for (const entry of this.#entries) {
      if (entry.spec.backendKeys.includes(prefix)) this.#markDirty(resourceName(entry), keys);
    }
  }

  #markDirty(name: string, keys: readonly string[]): void {
    let set = this.#dirty.get(name);
    if (set === undefined) {
      set = new Set();
      this.#dirty.set(name, set);
    }
    for (const key of keys) set.add(key);
    if (this.#mode === 'watch') this.#quiescence.poke();
  }

  #reconcile(): void {
    for (const running of this.#feeds.values()) running.feed.resync();
    for (const entry of this.#entries) this.#markDirty(resourceName(entry), []);
  }

  /** The merged keys of every prefix a resource reads, or undefined while one is not listed yet. */
  #pairsFromFeeds(entry: ResourceEntry): Map<string, string> | undefined {
    const pairs = new Map<string, string>();
    for (const prefix of entry.spec.backendKeys) {
      const feed = this.#feeds.get(prefix)?.feed;
      if (feed === undefined || !feed.ready) return undefined;
      for (const [key, value] of feed.mirror.pairs) pairs.set(key, value);
    }
    return pairs;
  }

  /** Single-flight: syncs dirty resources until none are left (or they wait on a feed). */
  #drain(): Promise<void> {
    if (this.#draining !== undefined) {
      this.#drainAgain = true;
      return this.#draining;
    }
    this.#draining = (async () => {
      do {
        this.#drainAgain = false;
        const batch: { entry: ResourceEntry; pairs: Map<string, string>; keys: readonly string[] }[] = [];
        for (const entry of this.#entries) {
          const name = resourceName(entry);
          const keys = this.#dirty.get(name);
          if (keys === undefined) continue;
          const pairs = this.#pairsFromFeeds(entry);
          // Still waiting for its first listing: the feed marks it dirty again when it has one.
          if (pairs === undefined) continue;
          this.#dirty.delete(name);
          batch.push({ entry, pairs, keys: [...keys].sort() });
        }
        if (batch.length === 0 || this.#signal?.aborted === true) break;
        const results = await this.#syncBatch(batch);
        this.#report(results);
      } while (this.#drainAgain || (this.#options.wait === undefined && this.#hasProcessableDirty()));
    })().finally(() => {
      this.#draining = undefined;
    });
    return this.#draining;
  }

  #hasProcessableDirty(): boolean {
    return this.#entries.some((e) => this.#dirty.has(resourceName(e)) && this.#pairsFromFeeds(e) !== undefined);
  }

  /** One --onetime or --interval pass: fresh listings of every prefix, then every resource. */
  async #pollPass(): Promise<ResourceResult[]> {
    const mirrors = new Map<string, KeyMirror | Error>();
    for (const prefix of new Set(this.#entries.flatMap((e) => e.spec.backendKeys))) {
      try {
        const mirror = new KeyMirror(prefix);
        mirror.replace(await this.#options.backend.list(prefix));
        mirrors.set(prefix, mirror);
      } catch (err) {
        mirrors.set(prefix, err as Error);
      }
    }
    const batch = [];
    const failed: ResourceResult[] = [];
    for (const entry of this.#entries) {
      const keys = entry.spec.backendKeys;
      const only = keys.length === 1 ? mirrors.get(keys[0] as string) : undefined;
      // One prefix (the common case): share the listing, so resources reading the same keys share one view.
      const pairs = only instanceof KeyMirror ? only.pairs : new Map<string, string>();
      let error: Error | undefined;
      for (const prefix of only instanceof KeyMirror ? [] : keys) {
        const mirror = mirrors.get(prefix);
        if (mirror instanceof KeyMirror) for (const [key, value] of mirror.pairs) pairs.set(key, value);
        else error ??= mirror ?? new Error(`no listing of ${prefix}`);
      }
      if (error === undefined) batch.push({ entry, pairs, keys: [] });
      else {
        failed.push({
          name: entry.spec.name,
          file: entry.spec.file,
          status: 'failed',
          stage: 'backend',
          message: `cannot read keys from the ${this.#options.backend.name} backend: ${error.message}`,
        });
      }
    }
    return [...failed, ...(await this.#syncBatch(batch))];
  }

  async #syncBatch(batch: readonly { entry: ResourceEntry; pairs: Map<string, string>; keys: readonly string[] }[]): Promise<ResourceResult[]> {
    const options = this.#options;
    const results: ResourceResult[] = [];
    const reloads = new Map<string, { command: string; timeoutMs: number; resources: string[] }>();
    for (const { entry, pairs, keys } of batch) {
      const outcome = await syncResource(entry, pairs, { ...options, changedKeys: keys });
      const base = { name: entry.spec.name, file: entry.spec.file };
      if (outcome.status === 'failed') {
        results.push({ ...base, status: 'failed', stage: outcome.stage, message: outcome.message });
        continue;
      }
      results.push({ ...base, status: outcome.status });
      if (outcome.status === 'updated' && outcome.reload !== undefined) {
        const timeoutMs = entry.spec.reloadTimeoutMs ?? DEFAULT_COMMAND_TIMEOUT_MS;
        const reload = reloads.get(outcome.reload);
        if (reload === undefined) reloads.set(outcome.reload, { command: outcome.reload, timeoutMs, resources: [entry.spec.name] });
        else {
          reload.resources.push(entry.spec.name);
          reload.timeoutMs = Math.max(reload.timeoutMs, timeoutMs);
        }
      }
    }
    const failures = await runReloads([...reloads.values()], this.#logger);
    for (const failure of failures) {
      const names = new Set(reloads.get(failure.command)?.resources ?? []);
      for (let i = 0; i < results.length; i++) {
        const result = results[i] as ResourceResult;
        if (names.has(result.name)) results[i] = { ...result, status: 'failed', stage: 'reload', message: failure.message };
      }
    }
    return results;
  }

  /** Logs failures once per change of message, recoveries once, and schedules retries. */
  #report(results: readonly ResourceResult[]): void {
    for (const result of results) {
      const previous = this.#lastFailure.get(result.name);
      if (result.status === 'failed') {
        const message = result.message ?? 'failed';
        // Reload failures are logged where they happen.
        if (message !== previous && result.stage !== 'reload') {
          this.#logger.error({ resource: result.name, stage: result.stage }, message);
        }
        this.#lastFailure.set(result.name, message);
        this.#scheduleRetry(result.name);
      } else {
        if (previous !== undefined) this.#logger.info({ resource: result.name }, 'resource recovered');
        this.#lastFailure.delete(result.name);
        this.#retryAttempts.delete(result.name);
      }
    }
  }

  #scheduleRetry(name: string): void {
    const signal = this.#signal;
    if (signal === undefined || signal.aborted || this.#retryTimers.has(name) || this.#feeds.size === 0) return;
    const attempt = this.#retryAttempts.get(name) ?? 0;
    this.#retryAttempts.set(name, attempt + 1);
    const timer = setTimeout(() => {
      this.#retryTimers.delete(name);
      if (!signal.aborted) this.#markDirty(name, []);
    }, Math.round(backoffDelay(RETRY, attempt + 1, Math.random)));
    this.#retryTimers.set(name, timer);
  }
}
