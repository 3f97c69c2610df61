import { setTimeout as sleep } from 'node:timers/promises';
import { EndpointsUnavailableError, V2Client, type V2ClientTls } from '../../client/v2-client.js';
import { CtlExit, EXIT, fail } from '../exit.js';
import { dialAddress, goTransportError } from '../go-errors.js';
import { goEscapePath, parseGoUrl } from '../go-url.js';
import { goQuote } from '../go-values.js';
import { MembersApi, type Member } from '../members-api.js';
import type { CommandInput } from './keys.js';

/**
 * cluster-health: lists the members without syncing, then asks every
 * member's client URLs for /health until one answers, exactly as etcdctl
 * does; "healthy" only when every member says so (exit 0), else 5.
 */

type Probe = { kind: 'answer'; healthy: boolean } | { kind: 'failed'; reason: string };

/** What Go's json.Unmarshal makes of a /health body: {"health":"true"} or {"health":true}. */
function readHealth(text: string): Probe {
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    const first = /\S/.exec(text);
    return { kind: 'failed', reason: first === null ? 'unexpected end of JSON input' : `invalid character '${first[0]}' looking for beginning of value` };
  }
  if (body === null || typeof body !== 'object' || Array.isArray(body)) {
    return { kind: 'failed', reason: `json: cannot unmarshal ${Array.isArray(body) ? 'array' : typeof body} into Go value of type struct { Health bool }` };
  }
  const entry = Object.entries(body).find(([k]) => k.toLowerCase() === 'health');
  const value = entry?.[1];
  return { kind: 'answer', healthy: value === 'true' || value === true };
}

async function probe(url: string, tls: V2ClientTls | undefined, dialTimeoutMs: number): Promise<Probe> {
  const target = `${url}/health`;
  const fail = (reason: string): Probe => ({ kind: 'failed', reason: `Get ${goQuote(target)}: ${reason}` });
  let parsed;
  try {
    parsed = parseGoUrl(target);
  } catch (err) {
    return { kind: 'failed', reason: (err as Error).message };
  }
  if (parsed.scheme !== 'http' && parsed.scheme !== 'https') return fail(`unsupported protocol scheme ${goQuote(parsed.scheme)}`);
  if (parsed.host === '') return fail('http: no Host in request URL');
  let client: V2Client;
  try {
    client = new V2Client({ endpoints: [`${parsed.scheme}://${parsed.host}`], transport: 'node-http', requestTimeoutMs: dialTimeoutMs, ...(tls === undefined ? {} : { tls }) });
  } catch {
    return fail(`dial tcp: address ${parsed.host}: invalid address`);
  }
  try {
    const res = await client.raw('GET', `${goEscapePath(parsed.path)}${parsed.rawQuery === '' ? '' : `?${parsed.rawQuery}`}`, { longPoll: true });
    return readHealth(res.text);
  } catch (err) {
    if (err instanceof EndpointsUnavailableError) {
      return fail(goTransportError(err.failures[0]?.cause, dialAddress(parsed.host, parsed.scheme)).message);
    }
    return fail(String(err));
  } finally {
    void client.close();
  }
}

export async function clusterHealthCommand(input: CommandInput): Promise<void> {
  const { session } = input;
  const io = session.io;
  const forever = input.flags.bool('forever');
  if (forever) process.once('SIGINT', () => process.exit(0));
  let tls: V2ClientTls | undefined;
  try {
    tls = session.tls();
  } catch (err) {
    fail(io, EXIT.serverError, err);
  }
  const debug = session.global.bool('debug');
  const client = session.newClient(tls);
  if (debug) io.err(`Cluster-Endpoints: ${client.endpoints().join(', ')}\n`);
  let members: Member[];
  try {
    members = await new MembersApi(client).list(undefined);
  } catch (err) {
    if (err instanceof CtlExit) throw err;
    io.out('cluster may be unhealthy: failed to list members\n');
    fail(io, EXIT.serverError, err);
  }
  const total = session.totalTimeoutMs;
  const dialTimeoutMs = Math.ceil(total > 0 && total < 30_000 ? total : 30_000);
  for (;;) {
    let healthy = 0;
    for (const m of members) {
      if (m.clientURLs.length === 0) {
        io.out(`member ${m.id} is unreachable: no available published client urls\n`);
        continue;
      }
      let checked = false;
      for (const url of m.clientURLs) {
        const result = await probe(url, tls, dialTimeoutMs);
        if (result.kind === 'failed') {
          io.out(`failed to check the health of member ${m.id} on ${url}: ${result.reason}\n`);
          continue;
        }
        checked = true;
        if (result.healthy) healthy++;
        io.out(`member ${m.id} is ${result.healthy ? 'healthy' : 'unhealthy'}: got ${result.healthy ? 'healthy' : 'unhealthy'} result from ${url}\n`);
        break;
      }
      if (!checked) io.out(`member ${m.id} is unreachable: [${m.clientURLs.join(' ')}] are all unreachable\n`);
    }
    io.out(healthy === members.length ? 'cluster is healthy\n' : healthy === 0 ? 'cluster is unavailable\n' : 'cluster is degraded\n');
    if (!forever) throw new CtlExit(healthy === members.length ? EXIT.success : EXIT.clusterNotHealthy);
    io.out('\nnext check after 10 second...\n\n');
    await sleep(10_000);
  }
}
