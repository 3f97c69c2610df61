import { compareStrings } from './kv-view.js';

/**
 * DNS lookups in templates. Handlebars helpers are synchronous and DNS is
 * not, so rendering runs in passes (as consul-template's Brain does for its
 * dependencies): a helper whose answer is not in LookupResults records a
 * LookupRequest and yields an empty list; the caller resolves the requests
 * and renders again with the answers. The output of a pass with pending
 * lookups is never used.
 */
export type LookupRequest =
  | { readonly kind: 'ip'; readonly name: string }
  | { readonly kind: 'srv'; readonly service: string; readonly proto: string; readonly name: string };

export interface SrvRecord {
  readonly target: string;
  readonly port: number;
  readonly priority: number;
  readonly weight: number;
}

export interface LookupResults {
  /** lookupId(request) → answer; failed lookups map to an empty list, as in confd. */
  readonly answers: ReadonlyMap<string, readonly string[] | readonly SrvRecord[]>;
}

export const NO_LOOKUPS: LookupResults = { answers: new Map() };

export function lookupId(req: LookupRequest): string {
  return req.kind === 'ip' ? `ip:${req.name}` : `srv:${srvName(req.service, req.proto, req.name)}`;
}

/** The DNS name Go's net.LookupSRV queries: `_service._proto.name`, or `name` alone when both are empty. */
export function srvName(service: string, proto: string, name: string): string {
  return service === '' && proto === '' ? name : `_${service}._${proto}.${name}`;
}

/** Sorted so that a DNS server rotating its answers never changes the output. */
export function sortIps(ips: readonly string[]): string[] {
  return [...new Set(ips)].sort(compareStrings);
}

/**
 * confd's order: by the concatenation target+port+priority+weight as a
 * string; a full tie-break follows so the order is total.
 */
export function sortSrv(records: readonly SrvRecord[]): SrvRecord[] {
  const sortKey = (r: SrvRecord) => `${r.target}${r.port}${r.priority}${r.weight}`;
  return [...records].sort(
    (a, b) =>
      compareStrings(sortKey(a), sortKey(b)) ||
      compareStrings(a.target, b.target) ||
      a.port - b.port ||
      a.priority - b.priority ||
      a.weight - b.weight,
  );
}

/** SRV records with Go-cased aliases, like KVPair, so `{{Target}}` and `{{target}}` both work. */
export class SrvView implements SrvRecord {
  readonly target: string;
  readonly port: number;
  readonly priority: number;
  readonly weight: number;

  constructor(r: SrvRecord) {
    this.target = r.target;
    this.port = r.port;
    this.priority = r.priority;
    this.weight = r.weight;
  }

  get Target(): string {
    return this.target;
  }

  get Port(): number {
    return this.port;
  }

  get Priority(): number {
    return this.priority;
  }

  get Weight(): number {
    return this.weight;
  }
}

export function srvView(r: SrvRecord): SrvView {
  return new SrvView(r);
}
