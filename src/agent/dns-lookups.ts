import { lookup, resolveSrv } from 'node:dns/promises';
import type { HandlebarsRenderer, RenderContext } from './template/render.js';
import type { ResourceSpec } from './resource.js';
import { TemplateError } from './template/errors.js';
import { lookupId, srvName, type LookupRequest, type SrvRecord } from './template/lookups.js';

export interface DnsResolver {
  lookupIP(name: string): Promise<string[]>;
  lookupSRV(service: string, proto: string, name: string): Promise<SrvRecord[]>;
}

/**
 * The system resolver, as Go's net.LookupIP/LookupSRV use it: getaddrinfo
 * for addresses (so /etc/hosts counts) and DNS for SRV records.
 */
export const systemResolver: DnsResolver = {
  async lookupIP(name) {
    const found = await lookup(name, { all: true, verbatim: true });
    return found.map((a) => a.address);
  },
  async lookupSRV(service, proto, name) {
    const records = await resolveSrv(srvName(service, proto, name));
    return records.map((r) => ({ target: r.name, port: r.port, priority: r.priority, weight: r.weight }));
  },
};

/**
 * Answers lookup requests. Like confd, a failed lookup answers with an empty
 * list rather than failing the render; `onError` lets the caller log it.
 */
export async function resolveLookups(
  requests: readonly LookupRequest[],
  resolver: DnsResolver = systemResolver,
  onError?: (req: LookupRequest, err: unknown) => void,
): Promise<Map<string, readonly string[] | readonly SrvRecord[]>> {
  const answers = new Map<string, readonly string[] | readonly SrvRecord[]>();
  await Promise.all(
    requests.map(async (req) => {
      try {
        answers.set(lookupId(req), req.kind === 'ip' ? await resolver.lookupIP(req.name) : await resolver.lookupSRV(req.service, req.proto, req.name));
      } catch (err) {
        onError?.(req, err);
        answers.set(lookupId(req), []);
      }
    }),
  );
  return answers;
}

/**
 * Renders, resolving the DNS lookups the template asks for between passes.
 * A template whose lookup names depend on other lookups needs one pass per
 * level; `maxPasses` bounds that.
 */
export async function renderWithLookups(
  renderer: HandlebarsRenderer,
  resource: Pick<ResourceSpec, 'src'>,
  ctx: Omit<RenderContext, 'lookups'>,
  options: { readonly resolver?: DnsResolver; readonly maxPasses?: number; readonly onError?: (req: LookupRequest, err: unknown) => void } = {},
): Promise<string> {
  const answers = new Map<string, readonly string[] | readonly SrvRecord[]>();
  const maxPasses = options.maxPasses ?? 4;
  for (let pass = 1; ; pass++) {
    const result = renderer.execute(resource, { ...ctx, lookups: { answers } });
    if (result.pendingLookups.length === 0) return result.output;
    if (pass >= maxPasses) {
      throw new TemplateError(resource.src, undefined, `DNS lookups still unanswered after ${maxPasses} passes (lookups whose names depend on other lookups, nested too deep)`);
    }
    for (const [id, answer] of await resolveLookups(result.pendingLookups, options.resolver, options.onError)) answers.set(id, answer);
  }
}
