import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, chownSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { DEFAULT_MODE, resolveMode } from '../../../src/agent/resource.js';
import { commitStageFile, destDiffers, discardStageFile, readDest, writeStageFile, type DestState } from '../../../src/agent/effects/staged-file.js';

const root = mkdtempSync(join(tmpdir(), 'cairn-staged-'));
after(() => rmSync(root, { recursive: true, force: true }));
const freshDir = (): string => mkdtempSync(join(root, 'case-'));
const modeOf = (path: string): number => statSync(path).mode & 0o7777;
const isRoot = process.getuid?.() === 0;

/** Runs `fn` with the process umask set to `mask`. */
async function withUmask<T>(mask: number, fn: () => Promise<T>): Promise<T> {
  const previous = process.umask(mask);
  try {
    return await fn();
  } finally {
    process.umask(previous);
  }
}

describe('resolveMode', () => {
  test('a new file gets 0644 unless the resource sets a mode', () => {
    assert.equal(DEFAULT_MODE, 0o644);
    assert.equal(resolveMode(undefined, undefined), 0o644);
    assert.equal(resolveMode(0o600, undefined), 0o600);
  });

  test("an existing file keeps its mode unless the resource sets one", () => {
    assert.equal(resolveMode(undefined, 0o600), 0o600);
    assert.equal(resolveMode(undefined, 0o100640), 0o640, 'file type bits are dropped');
    assert.equal(resolveMode(0o644, 0o600), 0o644);
  });
});

describe('readDest / destDiffers', () => {
  test('a missing dest reads as all undefined and always differs', async () => {
    const state = await readDest(join(freshDir(), 'nope.conf'));
    assert.deepEqual(state, { content: undefined, mode: undefined, uid: undefined, gid: undefined });
    assert.equal(destDiffers(state, Buffer.from(''), { mode: 0o644, uid: undefined, gid: undefined }), true);
  });

  test('an existing dest reads content, permission bits and owner', async () => {
    const dest = join(freshDir(), 'app.conf');
    writeFileSync(dest, 'hello\n');
    chmodSync(dest, 0o640);
    const state = await readDest(dest);
    assert.equal(state.content?.toString(), 'hello\n');
    assert.equal(state.mode, 0o640);
    assert.equal(state.uid, statSync(dest).uid);
    assert.equal(state.gid, statSync(dest).gid);
  });

  test('differs on content, mode and owner; an unset owner is not compared', () => {
    const current: DestState = { content: Buffer.from('a'), mode: 0o644, uid: 1000, gid: 1000 };
    const same = { mode: 0o644, uid: undefined, gid: undefined };
    assert.equal(destDiffers(current, Buffer.from('a'), same), false);
    assert.equal(destDiffers(current, Buffer.from('b'), same), true, 'content');
    assert.equal(destDiffers(current, Buffer.from('a'), { ...same, mode: 0o600 }), true, 'mode');
    assert.equal(destDiffers(current, Buffer.from('a'), { ...same, uid: 0 }), true, 'uid');
    assert.equal(destDiffers(current, Buffer.from('a'), { ...same, gid: 0 }), true, 'gid');
    assert.equal(destDiffers(current, Buffer.from('a'), { mode: 0o644, uid: 1000, gid: 1000 }), false, 'same owner');
  });
});

describe('writeStageFile / commitStageFile / discardStageFile', () => {
  test('the stage file lives beside dest, hidden, with the content and the exact mode whatever the umask', async () => {
    const dir = freshDir();
    const dest = join(dir, 'nginx.conf');
    for (const mode of [0o644, 0o600, 0o755, 0o664]) {
      const staged = await withUmask(0o077, () => writeStageFile(dest, Buffer.from(`mode ${mode}\n`), { mode, uid: undefined, gid: undefined }));
      assert.equal(dirname(staged), dir);
      assert.ok(basename(staged).startsWith('.nginx.conf.'), basename(staged));
      assert.equal(readFileSync(staged, 'utf8'), `mode ${mode}\n`);
      assert.equal(modeOf(staged), mode, `mode ${mode.toString(8)} under umask 077`);
      await discardStageFile(staged);
      assert.equal(existsSync(staged), false);
    }
    assert.deepEqual(readdirSync(dir), [], 'nothing left behind');
  });

  test('commit renames the stage file over dest; nothing else is left in the directory', async () => {
    const dir = freshDir();
    const dest = join(dir, 'app.conf');
    writeFileSync(dest, 'old\n');
    const staged = await writeStageFile(dest, Buffer.from('new\n'), { mode: 0o640, uid: undefined, gid: undefined });
    assert.equal(readFileSync(dest, 'utf8'), 'old\n', 'dest is untouched until the commit');
    await commitStageFile(staged, dest);
    assert.equal(readFileSync(dest, 'utf8'), 'new\n');
    assert.equal(modeOf(dest), 0o640);
    assert.deepEqual(readdirSync(dir), ['app.conf']);
  });

  test('discard leaves dest as it was', async () => {
    const dir = freshDir();
    const dest = join(dir, 'app.conf');
    writeFileSync(dest, 'keep\n');
    const staged = await writeStageFile(dest, Buffer.from('drop\n'), { mode: 0o644, uid: undefined, gid: undefined });
    await discardStageFile(staged);
    await discardStageFile(staged); // twice is fine
    assert.equal(readFileSync(dest, 'utf8'), 'keep\n');
    assert.deepEqual(readdirSync(dir), ['app.conf']);
  });

  test("an existing file's mode is kept through a rewrite when the resource sets none", async () => {
    const dir = freshDir();
    const dest = join(dir, 'secret.conf');
    writeFileSync(dest, 'v1\n');
    chmodSync(dest, 0o600);
    const current = await readDest(dest);
    const attrs = { mode: resolveMode(undefined, current.mode), uid: undefined, gid: undefined };
    assert.equal(destDiffers(current, Buffer.from('v1\n'), attrs), false);
    await commitStageFile(await writeStageFile(dest, Buffer.from('v2\n'), attrs), dest);
    assert.equal(modeOf(dest), 0o600);
  });

  test('a new file gets 0644 under a restrictive umask', async () => {
    const dest = join(freshDir(), 'new.conf');
    const attrs = { mode: resolveMode(undefined, (await readDest(dest)).mode), uid: undefined, gid: undefined };
    const staged = await withUmask(0o077, () => writeStageFile(dest, Buffer.from('x'), attrs));
    await commitStageFile(staged, dest);
    assert.equal(modeOf(dest), 0o644);
  });

  test('a destination directory that does not exist yet is created', async () => {
    const dest = join(freshDir(), 'missing', 'deeper', 'app.conf');
    const staged = await writeStageFile(dest, Buffer.from('x'), { mode: 0o644, uid: undefined, gid: undefined });
    assert.equal(dirname(staged), dirname(dest));
    await commitStageFile(staged, dest);
    assert.equal(readFileSync(dest, 'utf8'), 'x');
    assert.equal(modeOf(dirname(dest)), 0o755);
  });

  test('a destination below a regular file fails cleanly', async () => {
    const dir = freshDir();
    writeFileSync(join(dir, 'file'), '');
    await assert.rejects(writeStageFile(join(dir, 'file', 'app.conf'), Buffer.from('x'), { mode: 0o644, uid: undefined, gid: undefined }), { code: 'ENOTDIR' });
    assert.deepEqual(readdirSync(dir), ['file']);
  });

  test('uid and gid are applied to the stage file', { skip: isRoot ? false : 'needs root to chown' }, async () => {
    const dir = freshDir();
    const dest = join(dir, 'owned.conf');
    const staged = await writeStageFile(dest, Buffer.from('x'), { mode: 0o644, uid: 65534, gid: 65534 });
    await commitStageFile(staged, dest);
    const info = statSync(dest);
    assert.equal(info.uid, 65534);
    assert.equal(info.gid, 65534);
    const state = await readDest(dest);
    assert.equal(destDiffers(state, Buffer.from('x'), { mode: 0o644, uid: 65534, gid: 65534 }), false);
    assert.equal(destDiffers(state, Buffer.from('x'), { mode: 0o644, uid: 0, gid: undefined }), true);
    chownSync(dest, 0, 0);
  });
});
