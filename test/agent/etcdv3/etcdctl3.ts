import assert from 'node:assert/strict';
import { runEtcdctl } from '../../support/etcdctl.js';

/** Runs `etcdctl` in v3 mode (ETCDCTL_API=3) against `endpoints` and returns what it printed; fails on a non-zero exit. */
export async function etcdctl3(endpoints: string | readonly string[], args: readonly string[], options: { stdin?: string; env?: Record<string, string> } = {}): Promise<string> {
  const url = typeof endpoints === 'string' ? endpoints : endpoints.join(',');
  const result = await runEtcdctl(url, args, 30_000, {
    env: { ETCDCTL_API: '3', ...options.env },
    ...(options.stdin === undefined ? {} : { stdin: options.stdin }),
  });
  assert.equal(result.code, 0, `etcdctl ${args.join(' ')}: ${result.stderr}${result.stdout}`);
  return result.stdout;
}

/** The cluster's current revision, as etcdctl reports it. */
export async function currentRevision(endpoints: string | readonly string[]): Promise<number> {
  const out = await etcdctl3(endpoints, ['endpoint', 'status', '-w', 'json']);
  const statuses = JSON.parse(out) as { Status: { header: { revision: number } } }[];
  return Math.max(...statuses.map((s) => s.Status.header.revision));
}
