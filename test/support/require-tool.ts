import { spawnSync } from 'node:child_process';

/**
 * Returns true when `tool` is on PATH. Under CI=true a missing tool is a hard
 * failure (a silent skip would hide a broken install step); elsewhere the
 * caller may skip with the returned reason.
 */
export function haveTool(tool: string): boolean {
  const found = spawnSync('sh', ['-c', `command -v ${tool}`], { stdio: 'ignore' }).status === 0;
  if (!found && process.env['CI'] === 'true') {
    throw new Error(`${tool} is required in CI but is not on PATH (install it in .ci/run)`);
  }
  return found;
}

/** For `test(name, { skip: skipUnless('etcd') }, ...)`. */
export function skipUnless(tool: string): string | false {
  return haveTool(tool) ? false : `${tool} is not installed`;
}
