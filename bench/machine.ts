import { cpus, loadavg, release, platform } from 'node:os';

/** One line that lets a reader judge whether two reports are comparable. */
export function machineLine(extra: readonly string[]): string {
  const list = cpus();
  const model = list[0]?.model.replace(/\s+/g, ' ').trim() ?? 'unknown cpu';
  const load = loadavg().map((v) => v.toFixed(2)).join(' ');
  return [
    `${list.length} cpus (${model})`,
    `node ${process.version}`,
    ...extra,
    `${platform()} ${release()}`,
    `load avg ${load} before the run`,
  ].join(', ');
}
