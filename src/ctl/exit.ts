import { CairnError } from '../util/errors.js';
import { ClusterError } from './go-errors.js';
import type { CtlIo } from './io.js';

/** etcdctl's exit codes (ctlv2 command/error.go). */
export const EXIT = {
  success: 0,
  badArgs: 1,
  badConnection: 2,
  badAuth: 3,
  serverError: 4,
  clusterNotHealthy: 5,
} as const;

/** Thrown to end the command with an exit code, like etcdctl's os.Exit; the output is already written. */
export class CtlExit extends CairnError {
  readonly exitCode: number;

  constructor(exitCode: number) {
    super('CAIRN_CTL_EXIT', `exit ${exitCode}`);
    this.exitCode = exitCode;
  }
}

/** etcdctl's handleError: "Error:  <err>", the per-endpoint detail for a cluster error, then exit. */
export function fail(io: CtlIo, code: number, err: unknown): never {
  const message = err instanceof Error ? err.message : String(err);
  io.err(`Error:  ${message}\n`);
  if (err instanceof ClusterError) io.err(`${err.detail()}\n`);
  throw new CtlExit(code);
}

/** Prints a bare line to stderr and exits, for the commands that do so (member, newClient errors). */
export function failPlain(io: CtlIo, code: number, message: string): never {
  io.err(`${message}\n`);
  throw new CtlExit(code);
}
