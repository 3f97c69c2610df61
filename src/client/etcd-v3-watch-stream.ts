import type { Dispatcher } from 'undici';
import { CairnError, errorMessage } from '../util/errors.js';
import { encodeBytes, parseWatchMessage, type V3WatchMessage } from './etcd-v3-codec.js';
import { apiError, EtcdV3ApiError, EtcdV3ProtocolError, GRPC } from './etcd-v3-errors.js';

/** What to watch: [key, rangeEnd) (or `key` alone) from `startRevision` on. */
export interface WatchCreate {
  readonly key: string;
  readonly rangeEnd?: string;
  readonly startRevision: number;
}

export interface WatchStream {
  readonly endpoint: string;
  /** The answer that created the watch (its header names the member and its revision). */
  readonly created: V3WatchMessage;
  /** Every later message, until the member ends the stream (returns) or it breaks (throws). */
  messages(): AsyncIterable<V3WatchMessage>;
  /** Ends the stream and frees its connection. */
  close(): void;
}

/** The member stopped answering liveness probes while its stream stayed open. */
export class WatchStalledError extends CairnError {
  constructor(endpoint: string, cause: unknown) {
    super('CAIRN_V3_WATCH_STALLED', `${endpoint} stopped answering (${errorMessage(cause)}); the watch moves on`, { cause });
  }
}

export interface OpenWatchOptions {
  readonly dispatcher: Dispatcher;
  readonly endpoint: string;
  readonly headers: Readonly<Record<string, string>>;
  readonly create: WatchCreate;
  /** Bounds the opening only: connecting, the headers, and the created answer. */
  readonly openSignal: AbortSignal;
  /** Ends the stream whenever it fires. */
  readonly signal: AbortSignal;
  /** While the stream is open, probe the member every `everyMs`; a failed probe ends the stream. */
  readonly liveness?: { readonly everyMs: number; readonly probe: () => Promise<void> };
}

/** gRPC status names as they appear in a cancel_reason ("rpc error: code = Unauthenticated desc = ..."). */
const CODE_NAMES: Readonly<Record<string, number>> = {
  InvalidArgument: GRPC.invalidArgument,
  DeadlineExceeded: GRPC.deadlineExceeded,
  NotFound: GRPC.notFound,
  PermissionDenied: GRPC.permissionDenied,
  FailedPrecondition: GRPC.failedPrecondition,
  OutOfRange: GRPC.outOfRange,
  Unavailable: GRPC.unavailable,
  Unauthenticated: GRPC.unauthenticated,
};

/** Splits a streamed body into its newline-delimited JSON messages. */
async function* lines(body: AsyncIterable<Buffer | string>): AsyncGenerator<string> {
  let pending = '';
  for await (const chunk of body) {
    pending += typeof chunk === 'string' ? chunk : chunk.toString('utf8');
    let nl: number;
    while ((nl = pending.indexOf('\n')) !== -1) {
      const line = pending.slice(0, nl).trim();
      pending = pending.slice(nl + 1);
      if (line !== '') yield line;
    }
  }
  if (pending.trim() !== '') yield pending.trim();
}

/** One line of the stream: `{"result": WatchResponse}` or `{"error": {grpc_code, message}}`. */
function parseLine(line: string, endpoint: string): V3WatchMessage {
  let json: unknown;
  try {
    json = JSON.parse(line);
  } catch {
    throw new EtcdV3ProtocolError(`watch at ${endpoint}: a line that is not JSON: ${line.slice(0, 200)}`);
  }
  const body = (typeof json === 'object' && json !== null ? json : {}) as Record<string, unknown>;
  if (body['error'] !== undefined) {
    const error = (typeof body['error'] === 'object' && body['error'] !== null ? body['error'] : { message: String(body['error']) }) as Record<string, unknown>;
    const code = typeof error['grpc_code'] === 'number' ? error['grpc_code'] : typeof error['code'] === 'number' ? error['code'] : GRPC.unavailable;
    const status = typeof error['http_code'] === 'number' ? error['http_code'] : 200;
    throw new EtcdV3ApiError(status, code, typeof error['message'] === 'string' ? error['message'] : 'watch stream error', endpoint);
  }
  if (body['result'] === undefined) throw new EtcdV3ProtocolError(`watch at ${endpoint}: a line with neither result nor error`);
  return parseWatchMessage(body['result']);
}

/** A watch refused at creation (auth, permissions) as the API error etcd would give a unary call. */
function refusal(message: V3WatchMessage, endpoint: string): EtcdV3ApiError {
  const named = /code = (\w+)/.exec(message.cancelReason)?.[1];
  const code = named === undefined ? GRPC.failedPrecondition : (CODE_NAMES[named] ?? GRPC.failedPrecondition);
  const reason = /desc = (.*)$/.exec(message.cancelReason)?.[1] ?? message.cancelReason;
  return new EtcdV3ApiError(200, code, `watch refused: ${reason}`, endpoint);
}

/**
 * Opens `POST /v3/watch` on one member and waits for the watch to be
 * created. `hasleader` asks etcd to end the stream if the member loses its
 * leader, so a member cut off from the quorum does not hold a watch that
 * will never see another event.
 */
export async function openWatchStream(options: OpenWatchOptions): Promise<WatchStream> {
  const { endpoint, create } = options;
  const controller = new AbortController();
  const onAbort = (): void => controller.abort(options.signal.reason);
  const onOpenAbort = (): void => controller.abort(options.openSignal.reason);
  if (options.signal.aborted) onAbort();
  options.signal.addEventListener('abort', onAbort, { once: true });
  options.openSignal.addEventListener('abort', onOpenAbort, { once: true });
  let liveness: NodeJS.Timeout | undefined;
  let stalled: WatchStalledError | undefined;
  const close = (): void => {
    clearInterval(liveness);
    options.signal.removeEventListener('abort', onAbort);
    options.openSignal.removeEventListener('abort', onOpenAbort);
    if (!controller.signal.aborted) controller.abort(new CairnError('CAIRN_V3_WATCH_CLOSED', 'watch closed'));
  };

  let reader: AsyncGenerator<string>;
  let created: V3WatchMessage;
  try {
    const body = JSON.stringify({
      create_request: {
        key: encodeBytes(create.key),
        ...(create.rangeEnd === undefined ? {} : { range_end: encodeBytes(create.rangeEnd) }),
        start_revision: String(create.startRevision),
      },
    });
    const res = await options.dispatcher.request({
      origin: endpoint,
      path: '/v3/watch',
      method: 'POST',
      headers: { ...options.headers, 'content-type': 'application/json', 'grpc-metadata-hasleader': 'true' },
      body,
      signal: controller.signal,
    });
    if (res.statusCode !== 200) {
      const text = await res.body.text();
      let json: Record<string, unknown> = { code: GRPC.unavailable };
      try {
        json = JSON.parse(text) as Record<string, unknown>;
      } catch {
        // Not etcd's error body; the status says enough.
      }
      throw apiError(res.statusCode, json, endpoint) ?? new EtcdV3ApiError(res.statusCode, GRPC.unavailable, `HTTP ${res.statusCode}`, endpoint);
    }
    reader = lines(res.body);
    const first = await reader.next();
    if (first.done === true) throw new EtcdV3ApiError(200, GRPC.unavailable, 'watch stream ended before the watch was created', endpoint);
    created = parseLine(first.value, endpoint);
    if (created.canceled) throw refusal(created, endpoint);
    if (!created.created) throw new EtcdV3ProtocolError(`watch at ${endpoint}: the first answer did not create the watch`);
  } catch (err) {
    close();
    throw err;
  }
  options.openSignal.removeEventListener('abort', onOpenAbort);

  if (options.liveness !== undefined) {
    const { everyMs, probe } = options.liveness;
    let probing = false;
    liveness = setInterval(() => {
      if (probing) return;
      probing = true;
      probe()
        .catch((err: unknown) => {
          if (controller.signal.aborted) return;
          stalled = new WatchStalledError(endpoint, err);
          controller.abort(stalled);
        })
        .finally(() => {
          probing = false;
        });
    }, everyMs);
  }

  return {
    endpoint,
    created,
    async *messages() {
      try {
        for await (const line of reader) yield parseLine(line, endpoint);
      } catch (err) {
        if (stalled !== undefined) throw stalled;
        throw err;
      } finally {
        close();
      }
    },
    close,
  };
}
