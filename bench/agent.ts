import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, watch, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Pool } from 'undici';
import { makeWorkspace, startAgent, type RunningAgent, type Workspace } from '../test/support/agent.js';
import { CAIRN_MAIN, startCairn } from '../test/support/cairn.js';
import { startEtcd } from '../test/support/etcd.js';
import { waitFor } from '../test/support/wait.js';
import { findOnPath } from './binaries.js';
import { median, Samples } from './stats.js';
import type { BenchOptions, BenchSuite } from './suite.js';
import { markdownTable } from './table.js';
import { onTeardown } from './teardown.js';

const CHANGES = 300;
const SERVICES = 50;
const INSTANCES = 200;

interface Store {
  readonly name: string;
  readonly url: string;
  stop(): Promise<void>;
}

/** Which API the agent and the writes use: etcd's v2 keys API, or its v3 API through the JSON gateway. */
type Api = 'v2' | 'v3';

interface Peer {
  readonly name: string;
  readonly api: Api;
  start(): Promise<Store>;
}

/** The peers a change can travel through before it reaches the agent. */
async function stores(): Promise<Peer[]> {
  const list: Peer[] = [
    {
      name: 'cairn serve (etcd backend)',
      api: 'v2',
      async start() {
        const server = await startCairn();
        return { name: this.name, url: server.url, stop: () => server.destroy() };
      },
    },
  ];
  if (findOnPath('etcd') !== undefined) {
    list.push({
      name: 'etcd 3.4 v2 (etcd backend)',
      api: 'v2',
      async start() {
        const server = await startEtcd();
        return { name: this.name, url: server.url, stop: () => server.stop() };
      },
    });
    list.push({
      name: 'etcd 3.4 v3 (etcdv3 backend)',
      api: 'v3',
      async start() {
        const server = await startEtcd();
        return { name: this.name, url: server.url, stop: () => server.stop() };
      },
    });
  }
  return list;
}

/** The agent flags that read from a peer over `api`. */
function backendArgs(api: Api, url: string): string[] {
  return ['--backend', api === 'v2' ? 'etcd' : 'etcdv3', '--node', url];
}

/** One write, as a client of that API sends it. */
async function put(pool: Pool, api: Api, key: string, value: string): Promise<void> {
  const res =
    api === 'v2'
      ? await pool.request({ path: `/v2/keys${key}`, method: 'PUT', body: `value=${encodeURIComponent(value)}`, headers: { 'content-type': 'application/x-www-form-urlencoded' } })
      : await pool.request({
          path: '/v3/kv/put',
          method: 'POST',
          body: JSON.stringify({ key: Buffer.from(key).toString('base64'), value: Buffer.from(value).toString('base64') }),
          headers: { 'content-type': 'application/json' },
        });
  await res.body.text();
  if (res.statusCode >= 300) throw new Error(`${api} put ${key}: HTTP ${res.statusCode}`);
}

/** Resolves when `read()` returns `expected`, woken by fs.watch on the directory rather than a polling loop. */
function whenFileHolds(dir: string, read: () => string | undefined, expected: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const watcher = watch(dir);
    const timer = setTimeout(() => {
      watcher.close();
      reject(new Error(`timed out waiting for ${JSON.stringify(expected)}`));
    }, 30_000);
    const check = (): void => {
      if (read() === expected) {
        clearTimeout(timer);
        watcher.close();
        resolve();
      }
    };
    watcher.on('change', check);
    check();
  });
}

async function changeLatency(ws: Workspace, url: string, api: Api, rounds: number): Promise<Samples> {
  const pool = new Pool(url, { connections: 1 });
  const samples = new Samples();
  try {
    for (let i = 0; i < CHANGES * rounds; i++) {
      const value = `v${i}`;
      const started = performance.now();
      const done = whenFileHolds(ws.out, () => ws.read('v.conf'), `${value}\n`);
      await put(pool, api, '/bench/value', value);
      await done;
      samples.add(performance.now() - started);
    }
  } finally {
    await pool.close();
  }
  return samples;
}

function latencyWorkspace(): Workspace {
  const ws = makeWorkspace();
  ws.template('v.hbs', '{{getv "/bench/value" "unset"}}\n');
  ws.resource('v', '[template]\nsrc = "v.hbs"\ndest = "@OUT@/v.conf"\nkeys = ["/bench"]\n');
  return ws;
}

async function runLatency(options: BenchOptions): Promise<string[][]> {
  const rows: string[][] = [];
  const measure = async (name: string, ws: Workspace, agent: RunningAgent, url: string, api: Api): Promise<void> => {
    await waitFor(() => ws.read('v.conf') !== undefined, { what: `${name}: first render`, timeoutMs: 30_000 });
    const samples = await changeLatency(ws, url, api, options.rounds);
    rows.push([name, samples.percentile(50).toFixed(2), samples.percentile(99).toFixed(2), String(samples.count)]);
    await agent.stop();
  };

  {
    const ws = latencyWorkspace();
    const untrack = onTeardown(async () => ws.remove());
    const agent = await startAgent(ws, ['--watch', '--log-level', 'warn'], { CAIRN_LOG_LEVEL: 'warn' });
    await waitFor(async () => (await fetch(`${agent.url}/health`)).ok, { what: 'embedded store', timeoutMs: 30_000 });
    await measure('embedded store', ws, agent, agent.url, 'v2');
    ws.remove();
    untrack();
  }
  for (const peer of await stores()) {
    const store = await peer.start();
    const ws = latencyWorkspace();
    const untrack = onTeardown(async () => {
      await store.stop();
      ws.remove();
    });
    const agent = await startAgent(ws, ['--watch', ...backendArgs(peer.api, store.url), '--log-level', 'warn'], { CAIRN_LOG_LEVEL: 'warn' });
    await measure(peer.name, ws, agent, store.url, peer.api);
    await store.stop();
    ws.remove();
    untrack();
  }
  return rows;
}

/** 50 resources, each reading the whole 10k-key tree and rendering its own service. */
function onetimeWorkspace(): Workspace {
  const ws = makeWorkspace();
  for (let s = 0; s < SERVICES; s++) {
    ws.template(`svc${s}.hbs`, `upstream svc${s} {\n{{#each (gets "/bench/svc${s}/*")}}\n  server {{Value}}; # {{base Key}}\n{{/each}}\n}\n`);
    ws.resource(`svc${s}`, `[template]\nsrc = "svc${s}.hbs"\ndest = "@OUT@/svc${s}.conf"\nkeys = ["/bench"]\n`);
  }
  return ws;
}

async function fill(url: string, api: Api): Promise<void> {
  const pool = new Pool(url, { connections: 16 });
  try {
    const jobs: Promise<void>[] = [];
    for (let s = 0; s < SERVICES; s++) {
      for (let i = 0; i < INSTANCES; i++) {
        jobs.push(put(pool, api, `/bench/svc${s}/i${i}`, `10.${s}.${i >> 8}.${i & 255}:8080`));
        if (jobs.length >= 256) await Promise.all(jobs.splice(0));
      }
    }
    await Promise.all(jobs);
  } finally {
    await pool.close();
  }
}

function timeOnetime(args: readonly string[]): Promise<number> {
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const child = spawn(process.execPath, [CAIRN_MAIN, 'agent', ...args, '--onetime', '--log-level', 'error'], { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    child.on('exit', (code) => {
      if (code === 0) resolve(performance.now() - started);
      else reject(new Error(`cairn agent --onetime exited ${code}: ${stderr}`));
    });
  });
}

async function runOnetime(options: BenchOptions): Promise<string[][]> {
  const rows: string[][] = [];
  const run = async (name: string, ws: Workspace, args: readonly string[]): Promise<void> => {
    const times: number[] = [];
    for (let r = 0; r < options.rounds; r++) {
      // A fresh output dir each round, so every round writes all 50 files.
      rmSync(ws.out, { recursive: true, force: true });
      mkdirSync(ws.out);
      times.push(await timeOnetime(['--confdir', ws.confdir, ...args]));
    }
    const sample = readFileSync(join(ws.out, 'svc7.conf'), 'utf8');
    if (sample.split('\n').length !== INSTANCES + 3) throw new Error(`${name}: svc7.conf has the wrong number of lines`);
    rows.push([name, median(times).toFixed(0), Math.min(...times).toFixed(0)]);
  };

  // Embedded: fill a store, stop it, and let each onetime run open the same data dir.
  {
    const dataDir = mkdtempSync(join(tmpdir(), 'cairn-bench-agent-'));
    const server = await startCairn({ dataDir });
    const ws = onetimeWorkspace();
    const untrack = onTeardown(async () => {
      await server.destroy();
      rmSync(dataDir, { recursive: true, force: true });
      ws.remove();
    });
    await fill(server.url, 'v2');
    await server.stop();
    await run('embedded store', ws, ['--data-dir', dataDir, '--listen-client-urls', 'http://127.0.0.1:0']);
    rmSync(dataDir, { recursive: true, force: true });
    ws.remove();
    untrack();
  }
  {
    const dir = mkdtempSync(join(tmpdir(), 'cairn-bench-file-'));
    const ws = onetimeWorkspace();
    const data: Record<string, Record<string, string>> = {};
    for (let s = 0; s < SERVICES; s++) {
      const svc: Record<string, string> = {};
      for (let i = 0; i < INSTANCES; i++) svc[`i${i}`] = `10.${s}.${i >> 8}.${i & 255}:8080`;
      data[`svc${s}`] = svc;
    }
    writeFileSync(join(dir, 'data.json'), JSON.stringify({ bench: data }));
    await run('file backend (JSON)', ws, ['--backend', 'file', '--file', join(dir, 'data.json')]);
    rmSync(dir, { recursive: true, force: true });
    ws.remove();
  }
  for (const peer of await stores()) {
    const store = await peer.start();
    const ws = onetimeWorkspace();
    const untrack = onTeardown(async () => {
      await store.stop();
      ws.remove();
    });
    await fill(store.url, peer.api);
    await run(peer.name, ws, backendArgs(peer.api, store.url));
    await store.stop();
    ws.remove();
    untrack();
  }
  return rows;
}

export const agentSuite: BenchSuite = {
  name: 'agent',
  async run(options) {
    console.log(`PUT → rendered file in place, watch mode, ${CHANGES * options.rounds} sequential changes per store (ms):`);
    const latency = await runLatency(options);
    console.log(markdownTable(['change travels through', 'p50 ms', 'p99 ms', 'changes'], latency));
    const base = Number(latency[0]?.[1]);
    for (const row of latency.slice(1)) console.log(`  embedded p50 is ${(Number(row[1]) / base).toFixed(2)}× faster than ${row[0]}`);
    console.log(`\ncairn agent --onetime, ${SERVICES} templates over ${SERVICES * INSTANCES} keys, wall time of the whole process (ms, ${options.rounds} rounds):`);
    console.log(markdownTable(['backend', 'median ms', 'best ms'], await runOnetime(options)));
  },
};
