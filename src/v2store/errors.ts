import { CairnError } from '../util/errors.js';

/** etcd's v2 error codes, with the numbers clients already branch on. */
export const ErrorCode = {
  KeyNotFound: 100,
  TestFailed: 101,
  NotFile: 102,
  NotDir: 104,
  NodeExist: 105,
  RootReadOnly: 107,
  DirNotEmpty: 108,
  Unauthorized: 110,
  PrevValueRequired: 201,
  TtlNaN: 202,
  IndexNaN: 203,
  InvalidField: 209,
  InvalidForm: 210,
  RefreshValue: 211,
  RefreshTtlRequired: 212,
  RaftInternal: 300,
  LeaderElect: 301,
  WatcherCleared: 400,
  EventIndexCleared: 401,
} as const;

export type ErrorCodeNumber = (typeof ErrorCode)[keyof typeof ErrorCode];

const messages: Record<ErrorCodeNumber, string> = {
  100: 'Key not found',
  101: 'Compare failed',
  102: 'Not a file',
  104: 'Not a directory',
  105: 'Key already exists',
  107: 'Root is read only',
  108: 'Directory not empty',
  110: 'The request requires user authentication',
  201: 'PrevValue is Required in POST form',
  202: 'The given TTL in POST form is not a number',
  203: 'The given index in POST form is not a number',
  209: 'Invalid field',
  210: 'Invalid POST form',
  211: 'Value provided on refresh',
  212: 'A TTL must be provided on refresh',
  300: 'Raft Internal Error',
  301: 'During Leader Election',
  400: 'watcher is cleared due to etcd recovery',
  401: 'The event in requested index is outdated and cleared',
};

// Codes missing here answer 400, as etcd's table does.
const httpStatuses: Partial<Record<ErrorCodeNumber, number>> = {
  100: 404,
  101: 412,
  102: 403,
  105: 412,
  108: 403,
  110: 401,
  300: 500,
  301: 500,
};

/** An error in etcd's v2 shape: `{errorCode, message, cause, index}`. */
export class V2Error extends CairnError {
  readonly errorCode: ErrorCodeNumber;
  readonly errorCause: string;
  index: number;

  constructor(errorCode: ErrorCodeNumber, cause: string, index: number) {
    super(`CAIRN_V2_${errorCode}`, `${messages[errorCode]} (${cause})`);
    this.errorCode = errorCode;
    this.errorCause = cause;
    this.index = index;
  }

  get httpStatus(): number {
    return httpStatuses[this.errorCode] ?? 400;
  }

  toJSON(): { errorCode: number; message: string; cause?: string; index: number } {
    return {
      errorCode: this.errorCode,
      message: messages[this.errorCode],
      ...(this.errorCause === '' ? {} : { cause: this.errorCause }),
      index: this.index,
    };
  }
}

/** Form validation errors carry index 0, as etcd's request errors do. */
export function requestError(code: ErrorCodeNumber, cause: string): V2Error {
  return new V2Error(code, cause, 0);
}
