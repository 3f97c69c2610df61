import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomInt } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { silentLogger } from '../../src/log/logger.js';
import { Wal } from '../../src/storage/wal.js';
import { startProcess } from '../support/process.js';
import { waitFor } from '../support/wait.js';
import { CRASH_SEGMENT_BYTES, crashPayload } from './fixtures/crash-payload.js';
import { TempRoot, text } from './helpers.js';

const tmp = new TempRoot();
before(() => tmp.setUp('wal-crash'));
after(() => tmp.tearDown());

const writerScript = fileURLToPath(new URL('./fixtures/crash-writer.js', import.meta.url));
const ROUNDS = 6;

/** Small seeded PRNG (mulberry32) so a failing run's kill points can be replayed. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

interface Acks {
  readonly entries: number[];
  readonly markers: number[];
}

/** Acknowledgements from complete lines only: a line cut by the kill was not acknowledged. */
function parseAcks(output: string): Acks {
  const entries: number[] = [];
  const markers: number[] = [];
  const complete = output.slice(0, output.lastIndexOf('\n') + 1);
  for (const line of complete.split('\n')) {
    const m = /^([AM]) (\d+)$/.exec(line);
    if (m === null) continue;
    (m[1] === 'A' ? entries : markers).push(Number(m[2]));
  }
  return { entries, markers };
}

test('every write acknowledged before a SIGKILL is present after reopen', async (t) => {
  const seed = Number(process.env['CAIRN_TEST_SEED'] ?? randomInt(2 ** 31));
  t.diagnostic(`seed ${seed} (set CAIRN_TEST_SEED to replay the kill points)`);
  const random = prng(seed);
  const dir = tmp.dir();
  let ackedTop = 0;
  let ackedMarker = 0;
  let repairs = 0;

  for (let round = 1; round <= ROUNDS; round++) {
    const where = `seed ${seed}, round ${round}`;
    const child = startProcess(process.execPath, [writerScript, dir]);
    const killAfter = 1 + Math.floor(random() * 600);
    const acksNow = () => parseAcks(child.output()).entries.length;
    await waitFor(() => acksNow() >= killAfter || child.child.exitCode !== null, {
      intervalMs: 1 + Math.floor(random() * 20),
      what: `${killAfter} acknowledged appends (${where})`,
    });
    const exit = await child.kill('SIGKILL');
    assert.equal(exit, 'SIGKILL', `writer died on its own (${where}):\n${child.output()}`);

    const acks = parseAcks(child.output());
    assert.ok(acks.entries.length >= killAfter, where);
    for (const i of acks.entries) ackedTop = Math.max(ackedTop, i);
    for (const m of acks.markers) ackedMarker = Math.max(ackedMarker, m);

    const { wal, state } = await Wal.open(dir, { logger: silentLogger(), segmentBytes: CRASH_SEGMENT_BYTES });
    if (state.repairedBytes > 0) repairs++;
    assert.ok(state.snapshot.index >= ackedMarker, `marker ${state.snapshot.index} < acknowledged ${ackedMarker} (${where})`);
    const last = state.entries[state.entries.length - 1];
    assert.ok(last !== undefined && last.index >= ackedTop, `last entry ${last?.index} < acknowledged ${ackedTop} (${where})`);
    assert.ok(state.hardState.commit >= ackedTop, `commit ${state.hardState.commit} < acknowledged ${ackedTop} (${where})`);
    // Every entry that survived, acknowledged or not, is whole and in sequence after the marker.
    state.entries.forEach((e, k) => {
      assert.equal(e.index, state.snapshot.index + 1 + k, where);
      assert.equal(e.term, 1, where);
      assert.equal(text(e.data), crashPayload(e.index), `entry ${e.index} (${where})`);
    });
    await wal.close();
  }
  t.diagnostic(`${ackedTop} entries acknowledged; ${repairs} of ${ROUNDS} reopens cut a torn tail`);
});
