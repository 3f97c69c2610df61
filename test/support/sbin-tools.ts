import { spawnSync } from 'node:child_process';
import { delimiter } from 'node:path';

/**
 * Debian installs nginx and haproxy in /usr/sbin, which is not on PATH for
 * ordinary users. Tests run the examples' check_cmd/reload_cmd as written
 * (`nginx -t …`), so instead of rewriting the commands we give them a PATH
 * that includes the sbin directories: the one place this is handled.
 */
const SBIN_DIRS = ['/usr/local/sbin', '/usr/sbin', '/sbin'];

/** PATH with the sbin directories appended where missing. */
export function sbinPath(path: string = process.env['PATH'] ?? ''): string {
  const parts = path.split(delimiter).filter((p) => p !== '');
  return [...parts, ...SBIN_DIRS.filter((d) => !parts.includes(d))].join(delimiter);
}

/** The environment for commands that name sbin tools bare. */
export function sbinEnv(extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  return { ...process.env, ...extra, PATH: sbinPath() };
}

/**
 * The absolute path of `tool` (on PATH or in an sbin directory), or undefined.
 * Under CI=true a missing tool throws, as haveTool does: a silent skip would
 * hide a broken install step.
 */
export function sbinTool(tool: string): string | undefined {
  const found = spawnSync('sh', ['-c', `command -v ${tool}`], { env: sbinEnv(), encoding: 'utf8' });
  const path = found.status === 0 ? found.stdout.trim() : '';
  if (path !== '') return path;
  if (process.env['CI'] === 'true') {
    throw new Error(`${tool} is required in CI but was found neither on PATH nor in ${SBIN_DIRS.join(', ')} (install it in .ci/run)`);
  }
  return undefined;
}

/** For `test(name, { skip: skipUnlessSbin('nginx') }, ...)`. */
export function skipUnlessSbin(tool: string): string | false {
  return sbinTool(tool) === undefined ? `${tool} is not installed` : false;
}
