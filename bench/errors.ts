import { CairnError } from '../src/util/errors.js';

/** A benchmark could not produce a trustworthy number (server missing, died, or misbehaved). */
export class BenchError extends CairnError {
  constructor(code: `CAIRN_BENCH_${string}`, message: string, options?: ErrorOptions) {
    super(code, message, options);
  }
}
