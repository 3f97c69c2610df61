import { AssertionError } from 'node:assert';
import { performance } from 'node:perf_hooks';
import { explainViolation, type Violation } from './linearizability-explain.js';
import { partitionByKey } from './linearizability-kv-model.js';
import { searchLinearization, type SearchBudget } from './linearizability-search.js';
import type { KvOperation } from './linearizability-types.js';

export { HistoryRecorder, type OperationHandle, type RecorderCounts } from './linearizability-recorder.js';
export type { Violation } from './linearizability-explain.js';
export {
  InvalidHistoryError,
  formatOperation,
  type KvInputs,
  type KvOpName,
  type KvOperation,
  type KvOutputs,
} from './linearizability-types.js';

export interface CheckOptions {
  /** Wall-clock budget for deciding the whole history; past it the verdict is 'unknown'. Default 10 s. */
  timeoutMs?: number;
  /** Search-step budget across all keys (roughly, events visited). Default unlimited. */
  maxSteps?: number;
  /** Values keys hold before the history starts; other keys start absent. */
  initialValues?: Readonly<Record<string, string>>;
  /** How many violating keys get a minimized explanation. Default 3. */
  maxExplained?: number;
  /** Separate budget for minimizing explanations, so a late violation still gets one. Default 5 s. */
  explainTimeoutMs?: number;
}

export interface CheckResult {
  /** 'unknown' means the budget ran out on some key and no key was found to violate. */
  verdict: 'linearizable' | 'violation' | 'unknown';
  keys: number;
  operations: number;
  violatingKeys: string[];
  /** Keys whose search ran out of budget (or was not reached). */
  undecidedKeys: string[];
  /** Explanations for the first `maxExplained` violating keys. */
  violations: Violation[];
  elapsedMs: number;
  /** Human-readable summary, including the explanations. */
  message: string;
}

/**
 * Decides whether `history` is linearizable for the etcd v2 key-value model, key by key.
 * Failed operations (definitely without effect) must not be in the history; HistoryRecorder leaves them out.
 */
export function checkLinearizability(history: readonly KvOperation[], options: CheckOptions = {}): CheckResult {
  const started = performance.now();
  const { timeoutMs = 10_000, maxSteps = Infinity, initialValues = {}, maxExplained = 3, explainTimeoutMs = 5_000 } = options;
  const keys = partitionByKey(history, initialValues);
  const budget: SearchBudget = { deadline: started + timeoutMs, stepsLeft: maxSteps };
  const violatingKeys: string[] = [];
  const undecidedKeys: string[] = [];
  const violations: Violation[] = [];
  const explainBudget: SearchBudget = { deadline: 0, stepsLeft: Infinity };

  for (const key of [...keys.keys()].sort()) {
    const kh = keys.get(key);
    if (kh === undefined) continue;
    if (budget.stepsLeft <= 0 || performance.now() > budget.deadline) {
      undecidedKeys.push(key);
      continue;
    }
    const outcome = searchLinearization(kh.search, kh.initialState, budget, { trackLongest: true });
    if (outcome.kind === 'exhausted') undecidedKeys.push(key);
    else if (outcome.kind === 'illegal') {
      violatingKeys.push(key);
      if (violations.length < maxExplained) {
        if (violations.length === 0) explainBudget.deadline = performance.now() + explainTimeoutMs;
        violations.push(explainViolation(kh, explainBudget, outcome.longest));
      }
    }
  }

  const verdict = violatingKeys.length > 0 ? 'violation' : undecidedKeys.length > 0 ? 'unknown' : 'linearizable';
  const elapsedMs = performance.now() - started;
  const summary = `${verdict}: ${history.length} operations over ${keys.size} ${keys.size === 1 ? 'key' : 'keys'} checked in ${elapsedMs.toFixed(0)} ms`;
  const lines = [summary];
  if (violatingKeys.length > 0) lines.push(`violating keys: ${violatingKeys.map((k) => JSON.stringify(k)).join(', ')}`);
  if (undecidedKeys.length > 0) {
    const keyList = undecidedKeys.map((k) => JSON.stringify(k)).join(', ');
    lines.push(`undecided keys (the ${timeoutMs} ms / ${maxSteps} steps / memory budget ran out): ${keyList}`);
  }
  for (const v of violations) lines.push('', v.message);
  return {
    verdict,
    keys: keys.size,
    operations: history.length,
    violatingKeys,
    undecidedKeys,
    violations,
    elapsedMs,
    message: lines.join('\n'),
  };
}

/** For tests: throws an AssertionError carrying the explanation unless the verdict is 'linearizable'. */
export function assertLinearizable(history: readonly KvOperation[], options: CheckOptions = {}): CheckResult {
  const result = checkLinearizability(history, options);
  if (result.verdict !== 'linearizable') {
    throw new AssertionError({ message: result.message, actual: result.verdict, expected: 'linearizable', operator: 'linearizable' });
  }
  return result;
}
