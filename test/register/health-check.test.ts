import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCheck } from '../../src/register/health-check.js';
import { waitFor } from '../support/wait.js';

/** Running or stopped, but not a zombie waiting for a reaper (a container's init may never reap it). */
function alive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return false;
  }
}

test('exit status 0 passes; anything else fails with the status and the output tail', async () => {
  assert.deepEqual(await runCheck('true', 10_000), { passed: true, detail: '' });
  assert.deepEqual(await runCheck('echo unhealthy >&2; exit 3', 10_000), { passed: false, detail: 'exit status 3: unhealthy' });
  assert.deepEqual(await runCheck('kill -9 $$', 10_000), { passed: false, detail: 'killed by SIGKILL' });
});

test('a hung check is killed with everything it started once the timeout passes', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'cairn-check-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const pidFile = join(dir, 'pid');
  // The shell waits on a grandchild: killing only the shell would leave `sleep` behind.
  const result = await runCheck(`sleep 60 & echo $! > ${pidFile}; wait`, 500);
  assert.equal(result.passed, false);
  assert.match(result.detail, /^timed out after 500 ms/);
  const pid = Number(readFileSync(pidFile, 'utf8'));
  await waitFor(() => !alive(pid), { what: `the check's grandchild ${pid} to be gone` });
});

test('an abort kills a running check', async () => {
  const controller = new AbortController();
  const running = runCheck('sleep 60', 60_000, controller.signal);
  controller.abort();
  assert.deepEqual(await running, { passed: false, detail: 'aborted' });
});
