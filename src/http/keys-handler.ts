import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Logger } from '../log/logger.js';
import type { KeyService } from '../server/key-service.js';
import { ErrorCode, V2Error, requestError } from '../v2store/errors.js';
import { eventBody, isCreated, type V2Event } from '../v2store/event.js';
import { goJson } from '../v2store/go-json.js';
import { cleanPath } from '../v2store/path.js';
import { BodyTooLargeError, readBody } from './body.js';
import { isFormContentType, parseQuery, type FormValues } from './form.js';
import { parseKeyRequest, type KeyRequest } from './key-request.js';
import { send, sendMethodNotAllowed, sendV2Error, startStream } from './responses.js';

const KEYS_METHODS = ['HEAD', 'GET', 'PUT', 'POST', 'DELETE'] as const;
const WRITE_ACTIONS = new Set(['set', 'compareAndSwap', 'create', 'update']);
// A stream watcher whose socket has this much unsent data is cut off, as
// etcd drops a watcher whose 100-event buffer is full.
const MAX_STREAM_BACKLOG = 4 * 1024 * 1024;

export interface KeysHandlerOptions {
  readonly service: KeyService;
  readonly clusterId: string;
  readonly logger: Logger;
  readonly now?: () => number;
}

/** /v2/keys: validates like etcd, then reads, watches or proposes. */
export class KeysHandler {
  readonly #service: KeyService;
  readonly #clusterId: string;
  readonly #logger: Logger;
  readonly #now: () => number;

  constructor(options: KeysHandlerOptions) {
    this.#service = options.service;
    this.#clusterId = options.clusterId;
    this.#logger = options.logger;
    this.#now = options.now ?? Date.now;
  }

  async handle(req: IncomingMessage, res: ServerResponse, keyPath: string, rawQuery: string): Promise<void> {
    const method = req.method ?? 'GET';
    if (!(KEYS_METHODS as readonly string[]).includes(method)) {
      req.resume();
      sendMethodNotAllowed(res, KEYS_METHODS);
      return;
    }

    let request: KeyRequest;
    try {
      const form = await this.#readForm(req, method, rawQuery);
      request = parseKeyRequest(method, cleanPath(keyPath), form, this.#now());
    } catch (err) {
      this.#sendError(res, err);
      return;
    }

    switch (request.kind) {
      case 'get':
        if (request.quorum && this.#service.linearizableRead !== undefined) {
          try {
            await this.#service.linearizableRead();
          } catch (err) {
            this.#sendError(res, err);
            return;
          }
        }
        this.#get(res, request);
        return;
      case 'watch':
        this.#watch(req, res, request);
        return;
      case 'write':
        try {
          const event = await this.#service.propose(request.command);
          this.#sendEvent(res, event, request.noValueOnSuccess);
        } catch (err) {
          this.#sendError(res, err);
        }
    }
  }

  async #readForm(req: IncomingMessage, method: string, rawQuery: string): Promise<FormValues> {
    let body: Buffer | undefined;
    try {
      body = hasBody(req) ? await readBody(req) : undefined;
    } catch (err) {
      if (err instanceof BodyTooLargeError) throw new PayloadTooLarge(err.message);
      throw requestError(ErrorCode.InvalidForm, (err as Error).message);
    }
    const form: FormValues = new Map();
    // Go's ParseForm: only POST/PUT/PATCH bodies count, body values first.
    if (body !== undefined && (method === 'POST' || method === 'PUT') && isFormContentType(req.headers['content-type'])) {
      const parsed = parseQuery(body.toString('latin1'), form);
      if (parsed.error !== undefined) throw requestError(ErrorCode.InvalidForm, parsed.error.message);
    }
    const parsed = parseQuery(rawQuery, form);
    if (parsed.error !== undefined) throw requestError(ErrorCode.InvalidForm, parsed.error.message);
    return form;
  }

  #get(res: ServerResponse, request: Extract<KeyRequest, { kind: 'get' }>): void {
    let event: V2Event;
    try {
      event = this.#service.store.get(request.path, request.recursive, request.sorted, this.#now());
    } catch (err) {
      this.#sendError(res, err);
      return;
    }
    this.#sendEvent(res, event, false);
  }

  #watch(req: IncomingMessage, res: ServerResponse, request: Extract<KeyRequest, { kind: 'watch' }>): void {
    const service = this.#service;
    let headersSent = false;
    const sendHeaders = (startIndex: number): void => {
      if (headersSent) return;
      headersSent = true;
      startStream(res, 200, [
        'Content-Type', 'application/json',
        'X-Etcd-Cluster-Id', this.#clusterId,
        'X-Etcd-Index', String(startIndex),
        'X-Raft-Index', String(service.appliedIndex),
        'X-Raft-Term', String(service.term),
      ]);
    };
    const startIndex = service.store.index;
    let done = false;
    let watcher: { close(): void } | undefined;
    try {
      watcher = service.store.watch(request.path, request.recursive, request.stream, request.waitIndex, {
        deliver: (event) => {
          if (done) return false;
          sendHeaders(startIndex);
          if (!request.stream) {
            done = true;
            res.end(eventBody(event));
            return true;
          }
          res.write(eventBody(event));
          if (res.writableLength > MAX_STREAM_BACKLOG) {
            done = true;
            res.end();
            return false;
          }
          return true;
        },
        ended: () => {
          done = true;
          res.end();
        },
      });
    } catch (err) {
      this.#sendError(res, err);
      return;
    }
    if (done) return;
    sendHeaders(startIndex);
    res.on('close', () => {
      done = true;
      watcher?.close();
    });
    req.on('error', () => watcher?.close());
  }

  #sendEvent(res: ServerResponse, event: V2Event, noValueOnSuccess: boolean): void {
    const body = noValueOnSuccess && WRITE_ACTIONS.has(event.action) ? `${goJson({ action: event.action })}\n` : eventBody(event);
    send(res, isCreated(event) ? 201 : 200, [
      'Content-Type', 'application/json',
      'X-Etcd-Cluster-Id', this.#clusterId,
      'X-Etcd-Index', String(event.etcdIndex),
      'X-Raft-Index', String(this.#service.appliedIndex),
      'X-Raft-Term', String(this.#service.term),
    ], body);
  }

  #sendError(res: ServerResponse, err: unknown): void {
    if (res.headersSent) {
      res.end();
      return;
    }
    const clusterHeader = ['X-Etcd-Cluster-Id', this.#clusterId];
    if (err instanceof V2Error) {
      sendV2Error(res, err, clusterHeader);
      return;
    }
    if (err instanceof PayloadTooLarge) {
      // The rest of an oversized body is not read, so the connection cannot be reused.
      sendV2Error(res, requestError(ErrorCode.InvalidForm, err.message), [...clusterHeader, 'Connection', 'close'], 413);
      return;
    }
    this.#logger.error({ err }, 'unexpected error in keys handler');
    sendV2Error(res, new V2Error(ErrorCode.RaftInternal, err instanceof Error ? err.message : String(err), 0), clusterHeader);
  }
}

class PayloadTooLarge extends Error {}

/** Bodiless requests (most GETs) skip the read entirely: no listeners, no extra turn of the loop. */
function hasBody(req: IncomingMessage): boolean {
  const length = req.headers['content-length'];
  if (length !== undefined) return length !== '0';
  return req.headers['transfer-encoding'] !== undefined;
}
