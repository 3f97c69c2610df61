/**
 * Helpers for the `cairn ctl` tests: how to run it, and the side-by-side
 * comparison of one flow run by etcdctl against etcd and by `cairn ctl`
 * against Cairn.
 */
import assert from 'node:assert/strict';
import { CAIRN_MAIN } from '../support/cairn.js';
import { runEtcdctl, type CtlCommand, type CtlResult, type CtlSpawnOptions } from '../support/etcdctl.js';
import { runFlow, type FlowStep, type FlowTarget, type FlowTranscript } from '../support/etcdctl-flow.js';
import { ttlsAgree } from '../support/etcdctl-normalize.js';

/** `node dist/src/cli/main.js ctl`, as users run `cairn ctl`. */
export const CAIRN_CTL: CtlCommand = { file: process.execPath, prefix: [CAIRN_MAIN, 'ctl'] };

/**
 * Runs the flow with etcdctl against etcd (`ref`) and with `cairn ctl`
 * against Cairn (`subject`) at the same time (they touch different
 * servers), then requires equal normalized transcripts and TTLs within 5 s (the
 * flows only set TTLs of 30 s and more, so a lost or wrong TTL still shows).
 */
export async function sameAsEtcdctl(ref: FlowTarget, subject: FlowTarget, steps: readonly FlowStep[], hidden: readonly string[] = []): Promise<FlowTranscript> {
  const [want, got] = await Promise.all([runFlow(ref, steps, hidden), runFlow(subject, steps, hidden)]);
  try {
    assert.equal(got.text, want.text);
  } catch (err) {
    if (err instanceof assert.AssertionError) {
      err.message += `\n\n--- etcdctl against etcd, as printed ---\n${want.raw}\n\n--- cairn ctl against Cairn, as printed ---\n${got.raw}`;
    }
    throw err;
  }
  // Each `cairn ctl` run starts a Node process, so on a loaded machine its steps are seconds apart where etcdctl's are not.
  assert.ok(ttlsAgree(got.ttls, want.ttls, 5), `TTLs differ by more than 5 s: cairn [${got.ttls.join(', ')}], etcd [${want.ttls.join(', ')}]`);
  return got;
}

/** What a run printed, with the program's own name (which legitimately differs) made neutral. */
export function neutral(result: CtlResult): CtlResult {
  const clean = (text: string): string => text.replaceAll('cairn ctl', '<ctl>').replace(/\betcdctl\b/g, '<ctl>');
  return { stdout: clean(result.stdout), stderr: clean(result.stderr), code: result.code };
}

/** Runs etcdctl and `cairn ctl` with the same arguments against the same server, one after the other. */
export async function bothAgainst(url: string, args: readonly string[], options: Omit<CtlSpawnOptions, 'cli'> = {}): Promise<{ etcdctl: CtlResult; cairn: CtlResult }> {
  const etcdctl = await runEtcdctl(url, args, 30_000, options);
  const cairn = await runEtcdctl(url, args, 30_000, { ...options, cli: CAIRN_CTL });
  return { etcdctl, cairn };
}

/** Asserts that both programs printed the same (program names aside) and exited alike. */
export function assertSameRun(label: string, runs: { etcdctl: CtlResult; cairn: CtlResult }): void {
  assert.deepEqual(neutral(runs.cairn), neutral(runs.etcdctl), `${label}: cairn ctl differs from etcdctl`);
}

/** Maps `items` through `fn`, at most `size` at a time (each item starts processes; a loaded 2-core box needs some restraint). */
export async function inBatches<T, R>(items: readonly T[], size: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const out: R[] = [];
  for (let i = 0; i < items.length; i += size) out.push(...(await Promise.all(items.slice(i, i + size).map(fn))));
  return out;
}
