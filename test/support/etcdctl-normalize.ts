/**
 * Turns etcdctl output from two different servers into comparable text.
 *
 * What legitimately differs between a real etcd and Cairn is replaced:
 * absolute indexes become offsets from the index the flow started at (so a
 * server that counts its index differently still shows up), TTLs become a
 * token and are compared with ±1 s of slack (the two runs are seconds apart),
 * and member ids, names, peer URLs and the server URL become placeholders.
 */

export interface NormalizeContext {
  /** The server's client URL as etcdctl was given it. */
  readonly url: string;
  /** X-Etcd-Index when the flow started. */
  readonly baseIndex: number;
}

export interface Normalized {
  readonly text: string;
  /** TTL values in the order they appeared, each replaced by `<ttl>` in `text`. */
  readonly ttls: readonly number[];
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/**
 * Normalizes etcdctl output. Lines may carry a transcript prefix ("out| ",
 * "err| "), which is kept; line-anchored rules apply to what follows it.
 */
export function normalizeCtlOutput(text: string, ctx: NormalizeContext): Normalized {
  const ttls: number[] = [];
  const lines = text.split('\n').map((line) => {
    const prefix = /^(?:out|err)\| /.exec(line)?.[0] ?? '';
    return prefix + normalizeLine(line.slice(prefix.length), ctx, ttls);
  });
  return { text: lines.join('\n'), ttls };
}

function normalizeLine(line: string, ctx: NormalizeContext, ttls: number[]): string {
  const rel = (digits: string): string => `#${Number(digits) - ctx.baseIndex}`;
  let out = line.replace(new RegExp(escapeRegExp(ctx.url), 'g'), '<url>');

  // `member list`: "<16 hex>: name=N peerURLs=P clientURLs=C isLeader=B"
  out = out.replace(/^[0-9a-f]{1,16}: name=\S* peerURLs=\S* clientURLs=/g, '<id>: name=<name> peerURLs=<peers> clientURLs=');
  // `cluster-health`: "member <16 hex> is healthy: ..."
  out = out.replace(/^member [0-9a-f]{1,16} is /g, 'member <id> is ');

  out = out.replace(/"expiration":"[^"]*"/g, '"expiration":"<expiration>"');
  out = out.replace(/^TTL: (\d+)$|"ttl":(\d+)/g, (_whole, line?: string, json?: string) => {
    if (line !== undefined) {
      ttls.push(Number(line));
      return 'TTL: <ttl>';
    }
    ttls.push(Number(json));
    return '"ttl":<ttl>';
  });

  out = out.replace(/^(Created-Index|Modified-Index|Index): (\d+)$/g, (_w, label: string, n: string) => `${label}: ${rel(n)}`);
  out = out.replace(/"(createdIndex|modifiedIndex)":(\d+)/g, (_w, label: string, n: string) => `"${label}":${rel(n)}`);
  // The store index that every error line ends with: "Error:  100: Key not found (/foo) [17053]".
  out = out.replace(/\[(\d+)\]$/g, (_w, n: string) => `[${rel(n)}]`);
  // prevIndex compare failures carry indexes in their cause: "([12 != 9])".
  out = out.replace(/Compare failed \(\[(\d+) != (\d+)\]\)/g, (_w, a: string, b: string) => `Compare failed ([${rel(a)} != ${rel(b)}])`);
  // 401's cause: "(the requested history has been cleared [5/1010])".
  out = out.replace(/cleared \[(\d+)\/(\d+)\]/g, (_w, a: string, b: string) => `cleared [${rel(a)}/${rel(b)}]`);
  // In-order keys are named by their zero-padded createdIndex.
  out = out.replace(/\b(\d{20})\b/g, (_w, n: string) => `<${rel(n)}>`);
  // exec-watch commands in the tests echo ETCD_WATCH_MODIFIED_INDEX as "index=N".
  out = out.replace(/\bindex=(\d+)\b/g, (_w, n: string) => `index=${rel(n)}`);
  return out;
}

/** True when two TTL lists have the same length and agree within `slack` seconds. */
export function ttlsAgree(a: readonly number[], b: readonly number[], slack = 1): boolean {
  return a.length === b.length && a.every((ttl, i) => Math.abs(ttl - (b[i] ?? Number.NaN)) <= slack);
}
