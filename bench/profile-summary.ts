import { readFileSync } from 'node:fs';
import { relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { markdownTable } from './table.js';

interface ProfileNode {
  readonly id: number;
  readonly callFrame: { readonly functionName: string; readonly url: string; readonly lineNumber: number };
}

interface CpuProfile {
  readonly nodes: readonly ProfileNode[];
  readonly samples: readonly number[];
  readonly timeDeltas: readonly number[];
}

/**
 * The functions with the most self time in a .cpuprofile, for spotting where
 * a server spends its CPU without opening DevTools:
 * `node dist/bench/profile-summary.js <file.cpuprofile> [top]`.
 */
export function summarizeProfile(profile: CpuProfile, top: number): string {
  const frameOf = new Map<number, string>();
  for (const node of profile.nodes) frameOf.set(node.id, frameName(node.callFrame));
  const selfUs = new Map<string, number>();
  let totalUs = 0;
  profile.samples.forEach((id, i) => {
    const dt = profile.timeDeltas[i] ?? 0;
    const frame = frameOf.get(id) ?? '?';
    selfUs.set(frame, (selfUs.get(frame) ?? 0) + dt);
    totalUs += dt;
  });
  const idle = (selfUs.get('(idle)') ?? 0);
  const busyUs = Math.max(1, totalUs - idle);
  const rows = [...selfUs]
    .filter(([frame]) => frame !== '(idle)')
    .sort((a, b) => b[1] - a[1])
    .slice(0, top)
    .map(([frame, us]) => [frame, `${(us / 1000).toFixed(0)}`, `${((100 * us) / busyUs).toFixed(1)}%`]);
  return `busy ${(busyUs / 1e6).toFixed(2)} s of ${(totalUs / 1e6).toFixed(2)} s sampled\n\n` +
    markdownTable(['function (self time)', 'ms', '% of busy'], rows);
}

function frameName(frame: ProfileNode['callFrame']): string {
  const name = frame.functionName === '' ? '(anonymous)' : frame.functionName;
  if (frame.url === '') return name;
  let where = frame.url;
  if (where.startsWith('file://')) where = relative(process.cwd(), fileURLToPath(where));
  return `${name} ${where}:${frame.lineNumber + 1}`;
}

if (process.argv[1] !== undefined && fileURLToPath(import.meta.url) === process.argv[1]) {
  const [file, top] = process.argv.slice(2);
  if (file === undefined) {
    console.error('usage: node dist/bench/profile-summary.js <file.cpuprofile> [top]');
    process.exit(2);
  }
  console.log(summarizeProfile(JSON.parse(readFileSync(file, 'utf8')) as CpuProfile, Number(top ?? 25)));
}
