import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { acceptGoStyleFlags } from '../../../src/cli/go-flags.js';

describe('acceptGoStyleFlags: confd command lines carry over', () => {
  test('single-dash long flags become double-dash', () => {
    assert.deepEqual(acceptGoStyleFlags(['-onetime', '-watch', '-noop', '-sync-only']), ['--onetime', '--watch', '--noop', '--sync-only']);
  });

  test('-flag=value keeps its value', () => {
    assert.deepEqual(acceptGoStyleFlags(['-backend=etcd', '-node=http://127.0.0.1:2379', '-log-level=debug']), [
      '--backend=etcd',
      '--node=http://127.0.0.1:2379',
      '--log-level=debug',
    ]);
  });

  test('-flag value: the value is left alone', () => {
    assert.deepEqual(acceptGoStyleFlags(['-node', 'http://x:2379', '-interval', '30', '-confdir', '/etc/confd']), [
      '--node',
      'http://x:2379',
      '--interval',
      '30',
      '--confdir',
      '/etc/confd',
    ]);
  });

  test('a value with = and dashes inside stays whole', () => {
    assert.deepEqual(acceptGoStyleFlags(['-prefix=/a-b=c']), ['--prefix=/a-b=c']);
  });

  test('double-dash flags, short flags and plain words are untouched', () => {
    const args = ['agent', '--onetime', '--backend', 'etcd', '-h', '-V', 'http://x', '/etc/cairn', '-', '-1'];
    assert.deepEqual(acceptGoStyleFlags(args), args);
  });

  test('everything after -- is passed through as it is', () => {
    assert.deepEqual(acceptGoStyleFlags(['-onetime', '--', '-watch', '-x=1', '--']), ['--onetime', '--', '-watch', '-x=1', '--']);
  });

  test('an empty command line stays empty; the input is not modified', () => {
    assert.deepEqual(acceptGoStyleFlags([]), []);
    const args = Object.freeze(['-onetime']);
    assert.deepEqual(acceptGoStyleFlags(args), ['--onetime']);
    assert.deepEqual(args, ['-onetime']);
  });
});
