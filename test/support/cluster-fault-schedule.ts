import type { FaultCluster, FaultMember } from './cluster-fault-cluster.js';
import { seededRandom } from './seeded-random.js';
import { waitFor } from './wait.js';

/**
 * A seeded sequence of faults for a FaultCluster, one at a time: kill -9 and restart; a member cut off both
 * ways; a member whose outgoing links are cut (it hears the others, they do not hear it); SIGSTOP/SIGCONT;
 * the target and as many others as still leave a majority (in a cluster of five, the leader and one more)
 * cut off from that majority; and kill -9 of every member at once, which only the fsynced WAL survives.
 * The plan is a pure function of the seed; only "the leader" is resolved when the fault strikes.
 */
export type FaultKind = 'kill' | 'isolate' | 'mute' | 'pause' | 'split' | 'crash-all';

export interface PlannedFault {
  readonly kind: FaultKind;
  /** 'leader', or a member index. */
  readonly target: 'leader' | number;
  /** Quiet time before the fault. */
  readonly gapMs: number;
  /** How long the fault lasts. */
  readonly holdMs: number;
}

export function planFaults(seed: number, members: number, totalMs: number): PlannedFault[] {
  const random = seededRandom(seed);
  const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)] as T;
  const plan: PlannedFault[] = [];
  // Each kind strikes the leader at least once, in a seeded order, before the rest is drawn at random.
  const firsts: FaultKind[] = ['kill', 'isolate', 'pause', 'mute', 'crash-all'];
  for (let i = firsts.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [firsts[i], firsts[j]] = [firsts[j] as FaultKind, firsts[i] as FaultKind];
  }
  let planned = 0;
  while (planned < totalMs) {
    const first = firsts.shift();
    const kind = first ?? pick<FaultKind>(['kill', 'kill', 'isolate', 'isolate', 'pause', 'pause', 'mute', 'split', 'crash-all']);
    const target = first !== undefined || random() < 0.5 ? 'leader' : Math.floor(random() * members);
    const fault = { kind, target, gapMs: 500 + Math.floor(random() * 1500), holdMs: 1500 + Math.floor(random() * 2500) } as const;
    plan.push(fault);
    // Recovery after each fault takes a second or two on top.
    planned += fault.gapMs + fault.holdMs + 1500;
  }
  return plan;
}

export function describeFault(f: PlannedFault): string {
  const target = f.kind === 'crash-all' ? 'every member' : f.target === 'leader' ? 'leader' : `m${f.target + 1}`;
  return `${f.kind} ${target} for ${f.holdMs} ms after ${f.gapMs} ms`;
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

async function resolveTarget(cluster: FaultCluster, target: PlannedFault['target']): Promise<FaultMember> {
  if (target !== 'leader') return cluster.members[target] as FaultMember;
  try {
    return await cluster.leader({ timeoutMs: 5_000 });
  } catch {
    // No single leader right now (an election under way): strike the first member instead, deterministically.
    return cluster.members[0] as FaultMember;
  }
}

/** Every member running, resumed and connected; resolves once each answers /health (knows a leader). */
export async function restoreAll(cluster: FaultCluster): Promise<void> {
  cluster.net.heal();
  for (const m of cluster.members) {
    if (m.paused) m.resume();
    if (!m.running) await m.start({ waitReady: false });
  }
  await waitFor(
    async () => {
      const answers = await Promise.all(
        cluster.members.map(async (m) => (await fetch(`${m.clientUrl}/health`, { signal: AbortSignal.timeout(2_000) })).ok),
      );
      return answers.every(Boolean);
    },
    { what: 'every member healthy again', timeoutMs: 60_000, intervalMs: 100 },
  );
}

/** Runs `plan` against `cluster`; `log` gets one line per fault as it strikes. */
export async function runFaults(cluster: FaultCluster, plan: readonly PlannedFault[], log: (line: string) => void): Promise<void> {
  const started = Date.now();
  for (const fault of plan) {
    await sleep(fault.gapMs);
    const victim = await resolveTarget(cluster, fault.target);
    const who = fault.kind === 'crash-all' ? 'every member' : `${victim.name}${fault.target === 'leader' ? ' (leader)' : ''}`;
    log(`+${((Date.now() - started) / 1000).toFixed(1)}s ${fault.kind} ${who} for ${fault.holdMs} ms`);
    switch (fault.kind) {
      case 'kill':
        await victim.kill();
        break;
      case 'isolate':
        cluster.net.isolate(victim.name);
        break;
      case 'mute':
        cluster.net.mute(victim.name);
        break;
      case 'pause':
        victim.pause();
        break;
      case 'split': {
        // The victim's side: it and the members after it, as many as stay short of a majority.
        const minority = Math.ceil(cluster.members.length / 2) - 1;
        const from = cluster.members.indexOf(victim);
        const side = Array.from({ length: minority }, (_, i) => (cluster.members[(from + i) % cluster.members.length] as FaultMember).name);
        cluster.net.partition([side, cluster.members.map((m) => m.name).filter((n) => !side.includes(n))]);
        break;
      }
      case 'crash-all':
        await Promise.all(cluster.members.map((m) => m.kill()));
        break;
    }
    await sleep(fault.holdMs);
    await restoreAll(cluster);
  }
}
