import { median } from './stats.js';
import { markdownTable } from './table.js';

export type Phase = 'put' | 'get' | 'watch';
export const PHASES: readonly Phase[] = ['put', 'get', 'watch'];

/** One timed phase on one peer. */
export interface PhaseSample {
  /** ops/s for PUT and GET, deliveries/s for watch. */
  readonly throughput: number;
  readonly p50: number;
  readonly p99: number;
  readonly count: number;
  readonly badStatus: number;
  /** Cores the server kept busy, and its CPU time per operation. */
  readonly serverCores: number | undefined;
  readonly serverUsPerOp: number | undefined;
  readonly clientCores: number;
}

export interface PeerSamples {
  readonly name: string;
  readonly samples: Readonly<Record<Phase, readonly PhaseSample[]>>;
}

export interface StoreWorkload {
  readonly connections: number;
  readonly keys: number;
  readonly valueBytes: number;
  readonly watchers: number;
  readonly watchEvents: number;
  readonly rounds: number;
  readonly seconds: number;
}

interface Row {
  readonly label: string;
  readonly phase: Phase;
  readonly pick: (s: PhaseSample) => number;
  readonly format: (v: number) => string;
  readonly higherIsBetter: boolean;
}

/** The progress line for one sample. */
export function describeSample(phase: Phase, s: PhaseSample): string {
  const rate = phase === 'watch' ? `${fmtInt(s.throughput)} deliveries/s` : `${fmtInt(s.throughput)} ops/s`;
  return `${rate}, p50 ${fmtMs(s.p50)} ms, p99 ${fmtMs(s.p99)} ms`;
}

/**
 * The comparison table (median round per metric; the ratio is oriented so
 * that > 1 always means Cairn is ahead) and a CPU table that says whether a
 * server was CPU-bound, which the throughput rows alone cannot tell.
 */
export function formatStoreReport(cairn: PeerSamples | undefined, etcd: PeerSamples | undefined, machine: string, w: StoreWorkload): string {
  const rowsSpec: readonly Row[] = [
    { label: `PUT throughput, ${w.connections} conns (ops/s)`, phase: 'put', pick: (s) => s.throughput, format: fmtInt, higherIsBetter: true },
    { label: 'PUT latency p50 (ms)', phase: 'put', pick: (s) => s.p50, format: fmtMs, higherIsBetter: false },
    { label: 'PUT latency p99 (ms)', phase: 'put', pick: (s) => s.p99, format: fmtMs, higherIsBetter: false },
    { label: `GET throughput, ${w.connections} conns (ops/s)`, phase: 'get', pick: (s) => s.throughput, format: fmtInt, higherIsBetter: true },
    { label: 'GET latency p50 (ms)', phase: 'get', pick: (s) => s.p50, format: fmtMs, higherIsBetter: false },
    { label: 'GET latency p99 (ms)', phase: 'get', pick: (s) => s.p99, format: fmtMs, higherIsBetter: false },
    { label: `watch delivery p50, ${w.watchers} watchers (ms)`, phase: 'watch', pick: (s) => s.p50, format: fmtMs, higherIsBetter: false },
    { label: `watch delivery p99, ${w.watchers} watchers (ms)`, phase: 'watch', pick: (s) => s.p99, format: fmtMs, higherIsBetter: false },
  ];
  const medianOf = (peer: PeerSamples | undefined, row: Row): number | undefined =>
    peer === undefined ? undefined : median(peer.samples[row.phase].map(row.pick));
  const cell = (v: number | undefined, row: Row): string => (v === undefined ? 'skipped' : row.format(v));
  const rows = rowsSpec.map((row) => {
    const c = medianOf(cairn, row);
    const e = medianOf(etcd, row);
    let ratio = 'n/a';
    if (c !== undefined && e !== undefined && c > 0 && e > 0) ratio = `${(row.higherIsBetter ? c / e : e / c).toFixed(2)}×`;
    return [row.label, cell(c, row), cell(e, row), ratio];
  });

  const cpuRows = PHASES.map((phase) => [
    phase === 'watch' ? 'watch (per delivery)' : phase.toUpperCase(),
    serverCpuCell(cairn, phase),
    serverCpuCell(etcd, phase),
    clientCpuCell(cairn, phase),
    clientCpuCell(etcd, phase),
  ]);

  const lines = [
    '',
    '### store: Cairn vs etcd, v2 keys API',
    '',
    `machine: ${machine}`,
    `method: median of ${w.rounds} round${w.rounds === 1 ? '' : 's'}, peers alternating (A B A B); ` +
      `PUT/GET: ${w.connections} connections, ${w.keys} keys, ${w.valueBytes}-byte values, ${w.seconds} s per round; ` +
      `watch: ${w.watchers} recursive long-poll watchers, ${w.watchEvents} PUTs one at a time, ` +
      'latency from PUT sent to event read by each watcher',
    '',
    markdownTable(['metric', 'cairn', 'etcd', 'cairn/etcd'], rows),
    '',
    'cairn/etcd > 1 means Cairn is better (throughput: cairn/etcd; latency: etcd/cairn).',
    '',
    'CPU use, median round (diagnostics, not goals; the client shares the cores with the server):',
    '',
    markdownTable(['phase', 'cairn server: cores, per op', 'etcd server: cores, per op', 'client vs cairn: cores', 'client vs etcd: cores'], cpuRows),
  ];
  for (const peer of [cairn, etcd]) {
    if (peer === undefined) continue;
    const bad = PHASES.reduce((n, p) => n + peer.samples[p].reduce((m, s) => m + s.badStatus, 0), 0);
    if (bad > 0) lines.push(`warning: ${peer.name} answered ${bad} requests with an unexpected status`);
  }
  return lines.join('\n');
}

function serverCpuCell(peer: PeerSamples | undefined, phase: Phase): string {
  if (peer === undefined) return 'skipped';
  const samples = peer.samples[phase];
  const cores = median(samples.map((s) => s.serverCores ?? Number.NaN));
  const perOp = median(samples.map((s) => s.serverUsPerOp ?? Number.NaN));
  return Number.isNaN(cores) ? 'n/a' : `${fmtCores(cores)}, ${perOp.toFixed(0)} µs`;
}

function clientCpuCell(peer: PeerSamples | undefined, phase: Phase): string {
  return peer === undefined ? 'skipped' : fmtCores(median(peer.samples[phase].map((s) => s.clientCores)));
}

function fmtInt(v: number): string {
  return Number.isFinite(v) ? Math.round(v).toLocaleString('en-US') : 'n/a';
}

function fmtMs(v: number): string {
  if (!Number.isFinite(v)) return 'n/a';
  return v < 10 ? v.toFixed(2) : v.toFixed(1);
}

function fmtCores(v: number): string {
  return Number.isFinite(v) ? v.toFixed(2) : 'n/a';
}
