import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import type { V2Command } from '../../src/v2store/command.js';
import { V2Error } from '../../src/v2store/errors.js';
import type { V2Event } from '../../src/v2store/event.js';
import { V2Store } from '../../src/v2store/store.js';

const T0 = Date.UTC(2026, 0, 1);

function errorCode(run: () => unknown): number {
  try {
    run();
  } catch (err) {
    if (err instanceof V2Error) return err.errorCode;
    throw err;
  }
  assert.fail('expected a V2Error');
}

function collect(store: V2Store, path: string, recursive: boolean, stream: boolean, since = 0): V2Event[] {
  const seen: V2Event[] = [];
  store.watch(path, recursive, stream, since, { deliver: (e) => (seen.push(e), true) });
  return seen;
}

describe('V2Store', () => {
  test('index grows by one per successful mutation and never on failure', () => {
    const store = new V2Store();
    store.apply({ op: 'set', path: '/a', value: '1', dir: false, expireAt: 0, refresh: false }, T0);
    assert.equal(store.index, 1);
    assert.equal(errorCode(() => store.apply({ op: 'create', path: '/a', value: '2', dir: false, unique: false, expireAt: 0 }, T0)), 105);
    assert.equal(errorCode(() => store.apply({ op: 'compareAndSwap', path: '/a', prevValue: 'x', prevIndex: 0, value: 'y', expireAt: 0, refresh: false }, T0)), 101);
    assert.equal(store.index, 1);
  });

  test('expire commands delete due keys at the index they are applied, and notify watchers', () => {
    const store = new V2Store();
    store.apply({ op: 'set', path: '/svc/a', value: '1', dir: false, expireAt: T0 + 1000, refresh: false }, T0);
    store.apply({ op: 'set', path: '/svc/b', value: '2', dir: false, expireAt: T0 + 5000, refresh: false }, T0);
    const seen = collect(store, '/svc', true, true);
    assert.equal(store.nextExpiry(), T0 + 1000);
    store.apply({ op: 'expire', now: T0 + 999 }, T0 + 999);
    assert.equal(store.index, 2, 'nothing was due yet');
    store.apply({ op: 'expire', now: T0 + 1000 }, T0 + 1000);
    assert.equal(store.index, 3);
    assert.deepEqual(seen.map((e) => [e.action, e.node.key, e.node.modifiedIndex]), [['expire', '/svc/a', 3]]);
    assert.equal(errorCode(() => store.get('/svc/a', false, false, T0)), 100);
    assert.equal(store.nextExpiry(), T0 + 5000);
  });

  test('a refresh renews the deadline without waking watchers, and keeps history contiguous', () => {
    const store = new V2Store();
    store.apply({ op: 'set', path: '/hb', value: 'up', dir: false, expireAt: T0 + 1000, refresh: false }, T0);
    const seen = collect(store, '/hb', false, true);
    store.apply({ op: 'set', path: '/hb', value: '', dir: false, expireAt: T0 + 9000, refresh: true }, T0);
    assert.equal(seen.length, 0);
    assert.equal(store.get('/hb', false, false, T0).node.value, 'up');
    assert.equal(store.nextExpiry(), T0 + 9000);
    store.apply({ op: 'set', path: '/hb', value: 'down', dir: false, expireAt: 0, refresh: false }, T0);
    assert.deepEqual(seen.map((e) => e.node.value), ['down']);
    // A watch from index 2 (the refresh) skips it and finds the later write.
    assert.deepEqual(collect(store, '/hb', false, false, 2).map((e) => e.node.modifiedIndex), [3]);
  });

  test('hidden keys are left out of listings and of recursive watches on a parent', () => {
    const store = new V2Store();
    const parent = collect(store, '/app', true, true);
    const direct = collect(store, '/app/_secret', false, true);
    store.apply({ op: 'set', path: '/app/_secret', value: 's', dir: false, expireAt: 0, refresh: false }, T0);
    store.apply({ op: 'set', path: '/app/visible', value: 'v', dir: false, expireAt: 0, refresh: false }, T0);
    assert.deepEqual(parent.map((e) => e.node.key), ['/app/visible']);
    assert.deepEqual(direct.map((e) => e.node.key), ['/app/_secret']);
    const listing = store.get('/app', false, false, T0).node.nodes ?? [];
    assert.deepEqual(listing.map((n) => n.key), ['/app/visible']);
    assert.equal(store.get('/app/_secret', false, false, T0).node.value, 's');
  });

  test('deleting a directory ends watches on keys below it, once each', () => {
    const store = new V2Store();
    store.apply({ op: 'set', path: '/d/k', value: 'v', dir: false, expireAt: 0, refresh: false }, T0);
    const below = collect(store, '/d/k', false, true);
    const on = collect(store, '/d', false, true);
    store.apply({ op: 'delete', path: '/d', dir: true, recursive: true }, T0);
    assert.deepEqual(below.map((e) => e.action), ['delete']);
    assert.deepEqual(on.map((e) => e.action), ['delete']);
  });

  test('a watch older than the history window is error 401', () => {
    const store = new V2Store(10);
    for (let i = 0; i < 25; i++) store.apply({ op: 'set', path: '/k', value: String(i), dir: false, expireAt: 0, refresh: false }, T0);
    assert.equal(errorCode(() => collect(store, '/k', false, false, 5)), 401);
    assert.deepEqual(collect(store, '/k', false, false, 16).map((e) => e.node.modifiedIndex), [16]);
  });

  test('save/restore reproduces the keyspace, deadlines, index and history exactly', () => {
    const store = new V2Store();
    store.apply({ op: 'set', path: '/a/b', value: '1', dir: false, expireAt: T0 + 5000, refresh: false }, T0);
    store.apply({ op: 'create', path: '/q', value: 'x', dir: false, unique: true, expireAt: 0 }, T0);
    store.apply({ op: 'set', path: '/dir', value: '', dir: true, expireAt: T0 + 7000, refresh: false }, T0);
    const copy = V2Store.restore(store.save());
    assert.deepEqual(copy.get('/', true, true, T0), store.get('/', true, true, T0));
    assert.equal(copy.index, store.index);
    assert.equal(copy.nextExpiry(), T0 + 5000);
    assert.deepEqual(collect(copy, '/', true, false, 1), collect(store, '/', true, false, 1));
  });
});

// Any command sequence, replayed from the log or from a mid-way snapshot plus
// the rest, must give the same store: that is what makes restarts and replicas agree.
describe('V2Store determinism (property)', () => {
  const names = fc.constantFrom('a', 'b', '_h', 'c');
  const path = fc.array(names, { minLength: 1, maxLength: 3 }).map((parts) => `/${parts.join('/')}`);
  const expireAt = fc.constantFrom(0, T0 + 1000, T0 + 3000);
  const command: fc.Arbitrary<V2Command> = fc.oneof(
    fc.record({ op: fc.constant('set' as const), path, value: fc.string({ maxLength: 3 }), dir: fc.boolean(), expireAt, refresh: fc.boolean() }),
    fc.record({ op: fc.constant('create' as const), path, value: fc.string({ maxLength: 3 }), dir: fc.boolean(), unique: fc.boolean(), expireAt }),
    fc.record({ op: fc.constant('update' as const), path, value: fc.constantFrom('', 'u'), expireAt, refresh: fc.boolean() }),
    fc.record({ op: fc.constant('compareAndSwap' as const), path, prevValue: fc.constantFrom('', 'x'), prevIndex: fc.nat(12), value: fc.string({ maxLength: 2 }), expireAt, refresh: fc.boolean() }),
    fc.record({ op: fc.constant('delete' as const), path, dir: fc.boolean(), recursive: fc.boolean() }),
    fc.record({ op: fc.constant('compareAndDelete' as const), path, prevValue: fc.constantFrom('', 'x'), prevIndex: fc.nat(12) }),
    fc.record({ op: fc.constant('expire' as const), now: fc.constantFrom(T0 + 500, T0 + 2000, T0 + 4000) }),
  );

  function run(store: V2Store, commands: readonly V2Command[]): string[] {
    return commands.map((c) => {
      try {
        const e = store.apply(c, T0);
        return JSON.stringify([e.action, e.node, e.prevNode ?? null]);
      } catch (err) {
        if (err instanceof V2Error) return JSON.stringify(err.toJSON());
        throw err;
      }
    });
  }

  test('replay, and snapshot plus replay, agree with the original run', () => {
    fc.assert(
      fc.property(fc.array(command, { maxLength: 40 }), fc.nat(40), (commands, cut) => {
        const original = new V2Store();
        const results = run(original, commands);
        const replayed = new V2Store();
        assert.deepEqual(run(replayed, commands), results);
        const head = new V2Store();
        run(head, commands.slice(0, cut));
        const resumed = V2Store.restore(head.save());
        assert.deepEqual(run(resumed, commands.slice(cut)), results.slice(cut));
        assert.deepEqual(resumed.get('/', true, true, T0), original.get('/', true, true, T0));
        assert.equal(resumed.index, original.index);
        assert.equal(resumed.nextExpiry(), original.nextExpiry());
      }),
      { numRuns: 300 },
    );
  });
});
