/**
 * Runs a scripted etcdctl session (a "flow") against one server and records a
 * normalized transcript, so that the same flow run against a real etcd and
 * against Cairn can be compared line by line.
 */
import { runEtcdctl, spawnEtcdctl, type CtlCommand, type CtlResult } from './etcdctl.js';
import { normalizeCtlOutput } from './etcdctl-normalize.js';
import { storeIndex, v2Get, watcherCount, wipeKeyspace } from './v2-probe.js';
import { waitFor } from './wait.js';

/** The server a flow runs against. `baseIndex` is set when the flow starts. */
export interface FlowTarget {
  readonly name: string;
  readonly url: string;
  baseIndex: number;
  /** The program playing etcdctl (e.g. `cairn ctl`); the real etcdctl when absent. */
  readonly cli?: CtlCommand;
}

/** Arguments after `etcdctl --endpoints URL`; computed per target when they hold indexes. */
export type FlowArgs = readonly string[] | ((target: FlowTarget) => Promise<readonly string[]>);

export type FlowStep =
  | { readonly kind: 'ctl'; readonly label: string; readonly args: FlowArgs; readonly unordered: boolean; readonly stdin?: string }
  | {
      readonly kind: 'watch';
      readonly label: string;
      readonly args: FlowArgs;
      readonly writes: readonly FlowStep[];
      /** Present for watches that never end on their own: stop once stdout satisfies it. */
      readonly until?: (stdout: string) => boolean;
      readonly unordered: boolean;
    }
  | { readonly kind: 'wait'; readonly label: string; readonly until: (target: FlowTarget) => Promise<boolean> }
  | { readonly kind: 'act'; readonly label: string; readonly run: (target: FlowTarget) => Promise<void> };

/** One etcdctl command; the transcript shows its arguments. */
export function ctl(...args: string[]): FlowStep {
  return { kind: 'ctl', label: args.join(' '), args, unordered: false };
}

/** A command whose stdin carries `input` (etcdctl reads a missing value from there). */
export function ctlStdin(input: string, ...args: string[]): FlowStep {
  return { kind: 'ctl', label: `${args.join(' ')}   # stdin ${JSON.stringify(input)}`, args, unordered: false, stdin: input };
}

/** A command whose output order is the server's map order in etcd (unsorted listings): lines are compared sorted. */
export function ctlUnordered(...args: string[]): FlowStep {
  return { kind: 'ctl', label: args.join(' '), args, unordered: true };
}

/** A command whose arguments depend on the target (e.g. an index read from it); `label` stands for them. */
export function ctlWith(label: string, args: (target: FlowTarget) => Promise<readonly string[]>): FlowStep {
  return { kind: 'ctl', label, args, unordered: false };
}

/** A one-shot watch: started, awaited until the server holds it, then `writes` run and the watch must exit. */
export function watchOnce(args: readonly string[], writes: readonly FlowStep[]): FlowStep {
  return { kind: 'watch', label: args.join(' '), args, writes, unordered: false };
}

/** A one-shot watch whose arguments depend on the target; `label` stands for them. */
export function watchOnceWith(label: string, args: (target: FlowTarget) => Promise<readonly string[]>, writes: readonly FlowStep[]): FlowStep {
  return { kind: 'watch', label, args, writes, unordered: false };
}

/** A watch that runs until killed (watch --forever, exec-watch): killed once `until(stdout)` holds. */
export function watchLive(
  args: FlowArgs,
  writes: readonly FlowStep[],
  until: (stdout: string) => boolean,
  { unordered = false, label }: { unordered?: boolean; label?: string } = {},
): FlowStep {
  const shown = label ?? (typeof args === 'function' ? '(computed arguments)' : args.join(' '));
  return { kind: 'watch', label: shown, args, writes, until, unordered };
}

/** Something done over HTTP rather than with etcdctl (e.g. many writes at once); only `label` enters the transcript. */
export function act(label: string, run: (target: FlowTarget) => Promise<void>): FlowStep {
  return { kind: 'act', label, run };
}

/** Waits (by polling over HTTP) until `key` is gone, e.g. after its TTL ran out. */
export function waitGone(key: string): FlowStep {
  return {
    kind: 'wait',
    label: `(wait until ${key} has expired)`,
    until: async (target) => (await v2Get(target.url, key)).status === 404,
  };
}

/** The modifiedIndex of `key` on the target, for --swap-with-index and --with-index. */
export async function modifiedIndexOf(target: FlowTarget, key: string): Promise<number> {
  const res = await v2Get(target.url, key);
  const index = res.body.node?.modifiedIndex;
  if (index === undefined) throw new Error(`${target.name}: ${key} has no modifiedIndex: ${JSON.stringify(res.body)}`);
  return index;
}

export interface FlowTranscript {
  readonly text: string;
  readonly ttls: readonly number[];
  /** The same transcript before normalization, for failure messages. */
  readonly raw: string;
}

function render(label: string, result: CtlResult, unordered: boolean): string {
  const lines = (text: string): string[] => {
    const all = text.split('\n');
    if (all[all.length - 1] === '') all.pop();
    return unordered ? all.sort() : all;
  };
  return [
    `$ etcdctl ${label}`,
    ...lines(result.stdout).map((l) => `out| ${l}`),
    ...lines(result.stderr).map((l) => `err| ${l}`),
    `[exit ${String(result.code)}]`,
  ].join('\n');
}

const WATCH_DEADLINE_MS = 30_000;

async function runStep(target: FlowTarget, step: FlowStep, out: string[]): Promise<void> {
  switch (step.kind) {
    case 'ctl': {
      const args = typeof step.args === 'function' ? await step.args(target) : step.args;
      const options = { ...(target.cli === undefined ? {} : { cli: target.cli }), ...(step.stdin === undefined ? {} : { stdin: step.stdin }) };
      out.push(render(step.label, await runEtcdctl(target.url, args, undefined, options), step.unordered));
      return;
    }
    case 'act': {
      await step.run(target);
      out.push(step.label);
      return;
    }
    case 'wait': {
      await waitFor(() => step.until(target), { what: `${target.name}: ${step.label}`, timeoutMs: 30_000, intervalMs: 100 });
      out.push(step.label);
      return;
    }
    case 'watch': {
      // Watchers of earlier steps go away when their connection closes, which
      // the server notices asynchronously; start from none so a new one shows.
      await waitFor(async () => (await watcherCount(target.url)) === 0, {
        what: `${target.name}: /v2/stats/store "watchers" back to 0 once earlier etcdctl watches were killed`,
        timeoutMs: WATCH_DEADLINE_MS,
      });
      const args = typeof step.args === 'function' ? await step.args(target) : step.args;
      const watch = spawnEtcdctl(target.url, args, target.cli === undefined ? {} : { cli: target.cli });
      try {
        await waitFor(async () => (await watcherCount(target.url)) > 0 || watch.process.child.exitCode !== null, {
          what: `${target.name}: a watcher registered for etcdctl ${step.label} (/v2/stats/store "watchers" > 0)`,
          timeoutMs: WATCH_DEADLINE_MS,
        });
        for (const write of step.writes) await runStep(target, write, out);
        let result: CtlResult;
        if (step.until === undefined) {
          const timer = setTimeout(() => void watch.process.kill('SIGKILL'), WATCH_DEADLINE_MS);
          result = await watch.finished();
          clearTimeout(timer);
        } else {
          const until = step.until;
          try {
            await waitFor(() => until(watch.stdout()) || watch.process.child.exitCode !== null, {
              what: `${target.name}: the expected output of etcdctl ${step.label}`,
              timeoutMs: WATCH_DEADLINE_MS,
            });
          } catch (err) {
            throw new Error(`${String(err)}\nstdout so far: ${JSON.stringify(watch.stdout())}\nstderr: ${JSON.stringify(watch.stderr())}`);
          }
          const exitedEarly = watch.process.child.exitCode !== null;
          result = await watch.kill();
          // A live watch that is killed has no exit code worth comparing; one that died by itself has.
          if (!exitedEarly) result = { ...result, code: 'killed' };
        }
        out.push(render(`${step.label}   # (watch output)`, result, step.unordered));
      } finally {
        await watch.kill();
      }
      return;
    }
  }
}

/**
 * Empties the keyspace (plus the `hidden` keys named), notes the start index,
 * runs the steps in order and returns the normalized transcript.
 */
export async function runFlow(target: FlowTarget, steps: readonly FlowStep[], hidden: readonly string[] = []): Promise<FlowTranscript> {
  await wipeKeyspace(target.url, hidden);
  target.baseIndex = await storeIndex(target.url);
  const out: string[] = [];
  for (const step of steps) await runStep(target, step, out);
  const raw = out.join('\n');
  const { text, ttls } = normalizeCtlOutput(raw, { url: target.url, baseIndex: target.baseIndex });
  return { text, ttls, raw };
}
