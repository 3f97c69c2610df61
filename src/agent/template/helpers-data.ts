import { normalizeKey } from '../key-path.js';
import { KeyMissingError } from './errors.js';
import { formatGoLayout } from './go-time.js';
import type { HelperCall } from './helper-call.js';
import { spec, type HelperTable } from './helper-table.js';
import { compareStrings } from './kv-view.js';
import { lookupId, sortIps, sortSrv, srvView, type LookupRequest, type SrvRecord } from './lookups.js';
import { BadPatternError } from './path-match.js';

/**
 * Helpers that read the render's inputs: the key view (memkv's get, gets,
 * getv, getvs, ls, lsdir, exists), the environment, the clock, the file
 * system probe and DNS answers. Every list comes back sorted.
 */
export const dataHelpers: HelperTable = {
  getv: spec(1, 2, (call, [key, fallback]) => {
    const k = call.string(key, 'key');
    const value = call.state.view.get(k);
    if (value !== undefined) return value;
    if (fallback !== undefined) return call.string(fallback, 'default');
    throw new KeyMissingError(call.template, call.line, 'getv', normalizeKey(k));
  }),
  getvs: spec(1, 1, (call, [pattern]) =>
    // confd sorts getvs by value, not by key.
    glob(call, pattern).map((p) => p.value).sort(compareStrings),
  ),
  get: spec(1, 1, (call, [key]) => {
    const k = call.string(key, 'key');
    const hit = call.state.view.pair(k);
    if (hit === undefined) throw new KeyMissingError(call.template, call.line, 'get', normalizeKey(k));
    return hit;
  }),
  gets: spec(1, 1, (call, [pattern]) => glob(call, pattern)),
  ls: spec(1, 1, (call, [dir]) => call.state.view.list(call.string(dir, 'path'))),
  lsdir: spec(1, 1, (call, [dir]) => call.state.view.listDirs(call.string(dir, 'path'))),
  exists: spec(1, 1, (call, [key]) => call.state.view.has(call.string(key, 'key'))),

  getenv: spec(1, 2, (call, [name, fallback]) => {
    const value = call.state.env[call.string(name, 'name')];
    // Like confd: an empty variable counts as unset.
    if (value !== undefined && value !== '') return value;
    return fallback === undefined ? '' : call.string(fallback, 'default');
  }),
  fileExists: spec(1, 1, (call, [path]) => {
    const probe = call.state.fileExists;
    if (probe === undefined) return call.fail('not available in this renderer (no file system access was given)');
    return probe(call.string(path, 'path'));
  }),
  datetime: spec(0, 1, (call, [layout]) =>
    layout === undefined ? call.state.now.toISOString() : formatGoLayout(call.state.now, call.string(layout, 'layout')),
  ),

  lookupIP: spec(1, 1, (call, [name]) => {
    const answer = lookup(call, { kind: 'ip', name: call.string(name, 'name') });
    return sortIps(answer as readonly string[]);
  }),
  lookupSRV: spec(3, 3, (call, [service, proto, name]) => {
    const answer = lookup(call, {
      kind: 'srv',
      service: call.string(service, 'service'),
      proto: call.string(proto, 'proto'),
      name: call.string(name, 'name'),
    });
    return sortSrv(answer as readonly SrvRecord[]).map(srvView);
  }),
};

function glob(call: HelperCall, pattern: unknown) {
  try {
    return call.state.view.glob(call.string(pattern, 'pattern'));
  } catch (err) {
    if (err instanceof BadPatternError) return call.fail(err.message, { cause: err });
    throw err;
  }
}

/** The answer if this pass has it; otherwise the question is recorded and the answer is empty for now. */
function lookup(call: HelperCall, req: LookupRequest): readonly unknown[] {
  const id = lookupId(req);
  const answer = call.state.lookups.answers.get(id);
  if (answer !== undefined) return answer;
  call.state.pending.set(id, req);
  return [];
}
