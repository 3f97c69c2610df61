import { existsSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { CAIRN_MAIN, startCairn } from '../test/support/cairn.js';
import { startEtcd } from '../test/support/etcd.js';
import { findOnPath, probeOutput } from './binaries.js';
import { startProfiledCairn } from './profiled-cairn.js';

export interface RunningPeer {
  readonly name: string;
  readonly url: string;
  readonly pid: number | undefined;
  stop(): Promise<void>;
}

/** A server that can take part in the store benchmark. */
export interface PeerCandidate {
  readonly name: string;
  /** What exactly runs, for the report. */
  readonly detail: string;
  start(): Promise<RunningPeer>;
}

export interface SkippedPeer {
  readonly name: string;
  readonly reason: string;
}

export interface PeerLineup {
  readonly candidates: readonly PeerCandidate[];
  readonly skipped: readonly SkippedPeer[];
  readonly etcdVersion: string | undefined;
}

/** Cairn first, etcd second: the order of the table columns and of each A/B round. */
export function storePeers(cpuProfDir: string | undefined): PeerLineup {
  const candidates: PeerCandidate[] = [];
  const skipped: SkippedPeer[] = [];

  if (existsSync(CAIRN_MAIN)) {
    candidates.push(cairnPeer(cpuProfDir));
  } else {
    skipped.push({ name: 'cairn', reason: `${CAIRN_MAIN} not found (build with npx tsc -p tsconfig.json)` });
  }

  let etcdVersion: string | undefined;
  const etcdPath = findOnPath('etcd');
  if (etcdPath === undefined) {
    skipped.push({ name: 'etcd', reason: '`etcd` not on PATH' });
  } else {
    etcdVersion = probeOutput(etcdPath, ['--version'], /etcd Version:\s*(\S+)/) ?? 'unknown version';
    candidates.push({
      name: 'etcd',
      detail: `etcd ${etcdVersion} --enable-v2 (${etcdPath})`,
      async start() {
        const server = await startEtcd();
        return { name: 'etcd', url: server.url, pid: server.process.child.pid, stop: () => server.stop() };
      },
    });
  }
  return { candidates, skipped, etcdVersion };
}

function cairnPeer(cpuProfDir: string | undefined): PeerCandidate {
  const profiling = cpuProfDir === undefined ? '' : `, CPU profile to ${resolve(cpuProfDir)}`;
  return {
    name: 'cairn',
    detail: `cairn ${cairnVersion()} serve (${CAIRN_MAIN}${profiling})`,
    async start() {
      if (cpuProfDir !== undefined) {
        const server = await startProfiledCairn(cpuProfDir);
        return { name: 'cairn', url: server.url, pid: server.process.child.pid, stop: () => server.stop() };
      }
      const server = await startCairn();
      return {
        name: 'cairn',
        url: server.url,
        pid: server.process.child.pid,
        async stop() {
          // SIGTERM first so the shutdown path runs; a server that does not
          // stop in time is killed anyway.
          const stopped = await Promise.race([
            server.stop().then(() => true),
            new Promise<false>((r) => setTimeout(() => r(false), 15_000).unref()),
          ]);
          if (!stopped) process.stderr.write('store: cairn did not exit within 15 s of SIGTERM; killing it\n');
          await server.destroy();
        },
      };
    },
  };
}

function cairnVersion(): string {
  try {
    const pkg = JSON.parse(readFileSync(resolve(CAIRN_MAIN, '../../../../package.json'), 'utf8')) as { version?: unknown };
    return typeof pkg.version === 'string' ? pkg.version : 'unknown version';
  } catch {
    return 'unknown version';
  }
}
