import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Logger } from '../log/logger.js';
import {
  IdExistsError,
  IdNotFoundError,
  IdRemovedError,
  PeerUrlExistsError,
} from '../replica/membership-errors.js';
import type { MemberInfo } from '../server/key-service.js';
import { goJson } from '../v2store/go-json.js';
import { BodyTooLargeError, readBody } from './body.js';
import type { ClusterView } from './cluster-view.js';
import { checkJsonContentType, etcdIdString, MemberRequestError, parseMemberId, parsePeerUrlsBody } from './member-request.js';
import { send, sendJson, sendMethodNotAllowed, sendText } from './responses.js';

const METHODS = ['GET', 'POST', 'DELETE', 'PUT'] as const;

export interface MembersHandlerOptions {
  /** This node, for a single node's answers. */
  readonly member: MemberInfo;
  /** A replicated cluster; without it the node describes itself and refuses changes (501). */
  readonly cluster: ClusterView | undefined;
  readonly clusterId: string;
  readonly logger: Logger;
}

export function memberJson(member: MemberInfo): Record<string, unknown> {
  return { id: member.id, name: member.name, peerURLs: [...member.peerURLs], clientURLs: [...member.clientURLs] };
}

/**
 * /v2/members and everything under it, as etcd's v2 membersHandler answers:
 * GET lists (or names the leader), POST adds a member whatever the path
 * says, DELETE and PUT take the id from the path. Changes that fail for a
 * reason etcd does not name to clients answer 500 "Internal Server Error".
 */
export class MembersHandler {
  readonly #o: MembersHandlerOptions;
  readonly #header: readonly string[];

  constructor(options: MembersHandlerOptions) {
    this.#o = options;
    this.#header = ['X-Etcd-Cluster-Id', options.clusterId];
  }

  /** `rest` is the path after /v2/members, e.g. '' or '/leader'. */
  async handle(req: IncomingMessage, res: ServerResponse, rest: string): Promise<void> {
    const method = req.method ?? 'GET';
    if (!(METHODS as readonly string[]).includes(method)) {
      req.resume();
      sendMethodNotAllowed(res, METHODS);
      return;
    }
    const sub = rest.replace(/^\//, '');
    try {
      switch (method) {
        case 'GET':
          req.resume();
          this.#get(res, sub);
          return;
        case 'POST':
          await this.#post(req, res);
          return;
        case 'DELETE':
          req.resume();
          await this.#delete(res, sub);
          return;
        case 'PUT':
          await this.#put(req, res, sub);
          return;
      }
    } catch (err) {
      this.#sendError(res, err);
    }
  }

  #get(res: ServerResponse, sub: string): void {
    const { cluster, member } = this.#o;
    if (sub === '') {
      sendJson(res, 200, { members: (cluster?.members() ?? [member]).map(memberJson) }, this.#header);
      return;
    }
    if (sub === 'leader') {
      const leader = cluster === undefined ? member : cluster.leader();
      if (leader === undefined) this.#httpError(res, 503, 'During election');
      else sendJson(res, 200, memberJson(leader), this.#header);
      return;
    }
    this.#httpError(res, 404, 'Not found');
  }

  async #post(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const peerURLs = await this.#readPeerUrls(req);
    const cluster = this.#cluster(res);
    if (cluster === undefined) return;
    const added = await cluster.addMember(peerURLs);
    this.#o.logger.info({ id: added.id, peerUrls: added.peerURLs }, 'member added through /v2/members');
    sendJson(res, 201, memberJson(added), this.#header);
  }

  async #delete(res: ServerResponse, sub: string): Promise<void> {
    const id = this.#memberId(res, sub);
    if (id === undefined) return;
    const { cluster, member } = this.#o;
    if (cluster === undefined) {
      if (id !== member.id) this.#httpError(res, 404, `No such member: ${etcdIdString(id)}`);
      else this.#unsupported(res);
      return;
    }
    await cluster.removeMember(id);
    this.#o.logger.info({ id }, 'member removed through /v2/members');
    send(res, 204, this.#header, '');
  }

  async #put(req: IncomingMessage, res: ServerResponse, sub: string): Promise<void> {
    const id = this.#memberId(res, sub);
    if (id === undefined) {
      req.resume();
      return;
    }
    const peerURLs = await this.#readPeerUrls(req);
    const { cluster, member } = this.#o;
    if (cluster === undefined) {
      if (id !== member.id) this.#httpError(res, 404, `No such member: ${etcdIdString(id)}`);
      else this.#unsupported(res);
      return;
    }
    await cluster.updateMember(id, peerURLs);
    this.#o.logger.info({ id, peerUrls: peerURLs }, 'member updated through /v2/members');
    send(res, 204, this.#header, '');
  }

  /** etcd's getID: no id is a bare 405; an id that is not hex names no member. */
  #memberId(res: ServerResponse, sub: string): string | undefined {
    if (sub === '') {
      sendText(res, 405, 'Method Not Allowed\n', this.#header);
      return undefined;
    }
    const id = parseMemberId(sub);
    if (id === undefined) this.#httpError(res, 404, `No such member: ${sub}`);
    return id;
  }

  async #readPeerUrls(req: IncomingMessage): Promise<string[]> {
    try {
      checkJsonContentType(req.headers['content-type']);
    } catch (err) {
      req.resume();
      throw err;
    }
    let body: Buffer;
    try {
      body = await readBody(req);
    } catch (err) {
      if (err instanceof BodyTooLargeError) throw new MemberRequestError(413, err.message);
      throw err;
    }
    return parsePeerUrlsBody(body.toString('utf8'));
  }

  #cluster(res: ServerResponse): ClusterView | undefined {
    if (this.#o.cluster === undefined) this.#unsupported(res);
    return this.#o.cluster;
  }

  #unsupported(res: ServerResponse): void {
    this.#httpError(res, 501, 'runtime membership changes need a replicated cluster (start cairn serve with --initial-cluster)');
  }

  #sendError(res: ServerResponse, err: unknown): void {
    if (res.headersSent) {
      res.end();
      return;
    }
    if (err instanceof MemberRequestError) {
      this.#httpError(res, err.status, err.message);
    } else if (err instanceof IdExistsError || err instanceof PeerUrlExistsError) {
      this.#httpError(res, 409, err.message);
    } else if (err instanceof IdNotFoundError) {
      this.#httpError(res, 404, `No such member: ${this.#pathId(res)}`);
    } else if (err instanceof IdRemovedError && res.req.method === 'DELETE') {
      this.#httpError(res, 410, `Member permanently removed: ${this.#pathId(res)}`);
    } else {
      // etcd names no other reason to clients (not enough started members, unhealthy, timeouts).
      this.#o.logger.warn({ err, method: res.req.method, url: res.req.url }, 'membership change failed');
      this.#httpError(res, 500, 'Internal Server Error');
    }
  }

  /** The member id of a DELETE or PUT as etcd prints it. */
  #pathId(res: ServerResponse): string {
    const path = (res.req.url ?? '').split('?', 1)[0] ?? '';
    const id = parseMemberId(decodeURIComponent(path.slice(path.lastIndexOf('/') + 1)));
    return id === undefined ? '' : etcdIdString(id);
  }

  /** etcd's httptypes.HTTPError: `{"message":…}`, no trailing newline. */
  #httpError(res: ServerResponse, status: number, message: string): void {
    send(res, status, ['Content-Type', 'application/json', ...this.#header], goJson({ message }));
  }
}
