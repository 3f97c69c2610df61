import { describe, test } from 'node:test';
import { readdirSync, readFileSync } from 'node:fs';
import assert from 'node:assert/strict';
import { commandSucceeded, describeResult, runShellCommand } from '../../../src/agent/effects/run-command.js';
import { waitFor } from '../../support/wait.js';

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Live processes whose process group is `pgid` (from /proc; zombies count as gone). */
function groupMembers(pgid: number): number[] {
  const members: number[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    let stat: string;
    try {
      stat = readFileSync(`/proc/${name}/stat`, 'utf8');
    } catch {
      continue;
    }
    // pid (comm) state ppid pgrp ...; comm may hold spaces, so split after the last ')'.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    if (fields[0] !== 'Z' && Number(fields[2]) === pgid) members.push(Number(name));
  }
  return members;
}

function killQuietly(pid: number): void {
  try {
    process.kill(pid, 'SIGKILL');
  } catch {
    // already gone
  }
}

describe('runShellCommand', () => {
  test('exit status 0 succeeds; stdout and stderr are captured together', async () => {
    const result = await runShellCommand('echo out; echo err >&2', { timeoutMs: 10_000 });
    assert.equal(result.exitCode, 0);
    assert.equal(result.signal, null);
    assert.equal(result.timedOut, false);
    assert.ok(commandSucceeded(result));
    assert.match(result.output, /out/);
    assert.match(result.output, /err/);
    assert.equal(describeResult(result, 10_000), 'exit status 0');
  });

  test('a non-zero exit status fails and is reported', async () => {
    const result = await runShellCommand('echo "nginx: [emerg] bad directive" >&2; exit 3', { timeoutMs: 10_000 });
    assert.equal(result.exitCode, 3);
    assert.equal(commandSucceeded(result), false);
    assert.match(result.output, /\[emerg\] bad directive/);
    assert.equal(describeResult(result, 10_000), 'exit status 3');
  });

  test('runs through /bin/sh -c: pipes, quoting and env work', async () => {
    const result = await runShellCommand(`printf '%s\\n' "$GREETING" | tr a-z A-Z`, { timeoutMs: 10_000, env: { ...process.env, GREETING: 'hello there' } });
    assert.equal(result.output, 'HELLO THERE\n');
  });

  test('cwd is honoured', async () => {
    const result = await runShellCommand('pwd', { timeoutMs: 10_000, cwd: '/tmp' });
    assert.equal(result.output.trim(), '/tmp');
  });

  test('a command not found is exit status 127 with the shell message', async () => {
    const result = await runShellCommand('cairn-no-such-command-xyz', { timeoutMs: 10_000 });
    assert.equal(result.exitCode, 127);
    assert.match(result.output, /not found/);
  });

  test('a command killed by a signal reports the signal', async () => {
    const result = await runShellCommand('kill -TERM $$', { timeoutMs: 10_000 });
    assert.equal(result.exitCode, null);
    assert.equal(result.signal, 'SIGTERM');
    assert.equal(commandSucceeded(result), false);
    assert.equal(describeResult(result, 10_000), 'killed by SIGTERM');
  });

  test('huge output keeps the last 16 KiB', async () => {
    const result = await runShellCommand('i=0; while [ $i -lt 3000 ]; do echo "line $i padding padding padding"; i=$((i+1)); done; echo THE-END', { timeoutMs: 20_000 });
    assert.equal(result.exitCode, 0);
    assert.ok(result.output.length <= 16 * 1024, `output is ${result.output.length} chars`);
    assert.ok(result.output.length > 8 * 1024);
    assert.match(result.output, /THE-END\n$/);
    assert.doesNotMatch(result.output, /^line 0 /m);
  });

  test('multi-byte characters split across reads come out whole', async () => {
    // One write of 1 + 2 × 40000 bytes: a 64 KiB pipe read ends inside a character.
    const result = await runShellCommand(`printf 'a%s' '${'é'.repeat(40_000)}'`, { timeoutMs: 20_000 });
    assert.equal(result.exitCode, 0);
    assert.ok(!result.output.includes('\uFFFD'), 'no replacement characters');
    assert.match(result.output, /^é+$/);
    assert.equal(result.output.length, 16 * 1024);
  });

  test('a timeout kills the whole process group and returns long before the command would end', async () => {
    const started = Date.now();
    // The shell (the group leader), a background sleep and a foreground sleep: all must go.
    const result = await runShellCommand('echo $$; sleep 30 & sleep 30; wait', { timeoutMs: 300 });
    const elapsed = Date.now() - started;
    assert.equal(result.timedOut, true);
    assert.equal(commandSucceeded(result), false);
    assert.equal(describeResult(result, 300), 'killed after 300 ms without finishing');
    assert.ok(elapsed < 25_000, `took ${elapsed} ms`);
    const group = Number(result.output.trim());
    assert.ok(group > 1, result.output);
    try {
      await waitFor(() => groupMembers(group).length === 0, { what: `process group ${group} to be empty`, timeoutMs: 10_000 });
    } finally {
      for (const pid of groupMembers(group)) killQuietly(pid);
    }
  });

  test('a command that ignores SIGTERM is killed with SIGKILL after the grace period', async () => {
    const started = Date.now();
    const result = await runShellCommand("trap '' TERM; echo ready; while :; do sleep 0.1; done", { timeoutMs: 200 });
    assert.equal(result.timedOut, true);
    assert.equal(result.signal, 'SIGKILL');
    assert.ok(Date.now() - started < 25_000);
  });

  test('a daemon left holding stdout does not hold up the result', async () => {
    const started = Date.now();
    const result = await runShellCommand('sleep 30 & echo $!; echo started', { timeoutMs: 60_000 });
    const pid = Number(result.output.split('\n')[0]);
    try {
      assert.equal(result.exitCode, 0);
      assert.equal(result.timedOut, false);
      assert.match(result.output, /started/);
      assert.ok(Date.now() - started < 25_000, 'returned when the shell exited, not when the daemon let go of the pipe');
      assert.ok(alive(pid), 'the daemon itself is left running (it is not ours to kill)');
    } finally {
      killQuietly(pid);
    }
  });
});
