import { CairnError } from '../util/errors.js';

/** gRPC status codes etcd answers with (google.golang.org/grpc/codes), the ones callers branch on. */
export const GRPC = {
  invalidArgument: 3,
  deadlineExceeded: 4,
  notFound: 5,
  permissionDenied: 7,
  failedPrecondition: 9,
  outOfRange: 11,
  unavailable: 14,
  unauthenticated: 16,
} as const;

/** etcd answered with an error body: `{"error", "message", "code"}` where code is a gRPC status code. */
export class EtcdV3ApiError extends CairnError {
  readonly grpcCode: number;
  readonly status: number;
  readonly endpoint: string;

  constructor(status: number, grpcCode: number, message: string, endpoint: string) {
    super('CAIRN_V3_API', `${message} (gRPC code ${grpcCode}, HTTP ${status}, ${endpoint})`);
    this.grpcCode = grpcCode;
    this.status = status;
    this.endpoint = endpoint;
  }

  /** The revision asked for is older than the compacted history. */
  get compacted(): boolean {
    return this.grpcCode === GRPC.outOfRange && /compacted/.test(this.message);
  }
}

/** The server answered, but not with something etcd's gateway would send. */
export class EtcdV3ProtocolError extends CairnError {
  constructor(message: string) {
    super('CAIRN_V3_PROTOCOL', message);
  }
}

/** The error an answer carries, if any. */
export function apiError(status: number, json: Record<string, unknown>, endpoint: string): EtcdV3ApiError | undefined {
  if (status === 200 && json['error'] === undefined) return undefined;
  const code = typeof json['code'] === 'number' ? json['code'] : 2;
  let message = typeof json['message'] === 'string' ? json['message'] : typeof json['error'] === 'string' ? json['error'] : `HTTP ${status}`;
  if (code === GRPC.unavailable && endpoint.startsWith('https:') && /^connection closed$|^connection error: desc = "transport: /.test(message)) {
    // etcd's gateway dials its own gRPC server presenting the server certificate as a client one;
    // grpc-go words the refusal differently from one attempt to the next.
    message += GATEWAY_TLS_HINT;
  }
  return new EtcdV3ApiError(status, code, message, endpoint);
}

export const GATEWAY_TLS_HINT =
  ' (etcd\'s JSON gateway could not reach its own gRPC server; with --client-cert-auth this happens when etcd\'s server certificate does not also allow client authentication, extendedKeyUsage clientAuth)';
