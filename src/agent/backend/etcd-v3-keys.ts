import { normalizeKey } from '../key-path.js';
import { isHiddenBelow } from './v2-nodes.js';

/**
 * The v3 keys that a v2-style prefix holds. v3 keys are flat strings; the
 * agent reads `/`-separated ones as v2 paths, so the prefix `/services/web`
 * holds the key `/services/web` itself and every key below
 * `/services/web/`, but not `/services/web-old`. Both live in one key range,
 * [prefix, prefix + "0"), since "0" is the byte after "/"; the few siblings
 * in that range (`/services/web-old`, `/services/web.bak`) are dropped
 * here. Keys without a leading `/` sit outside every prefix, as with confd's
 * etcdv3 backend. Keys with a hidden segment (`_name`) are left out as v2
 * listings leave them out, so that a v2 and a v3 cluster render the same.
 */
export interface KeySpan {
  /** The first key of the range to read and watch. */
  readonly key: string;
  /** The end of the range, exclusive. */
  readonly rangeEnd: string;
  /** True when `key`, from that range, is under the prefix and visible. */
  holds(key: string): boolean;
}

export function keySpan(prefix: string): KeySpan {
  const p = normalizeKey(prefix);
  if (p === '/') {
    return { key: '/', rangeEnd: '0', holds: (key) => key.startsWith('/') && !isHiddenBelow('/', key) };
  }
  const below = `${p}/`;
  return {
    key: p,
    rangeEnd: `${p}0`,
    holds: (key) => (key === p || key.startsWith(below)) && !isHiddenBelow(p, key),
  };
}
