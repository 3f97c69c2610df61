import type { KeyHistory } from './linearizability-kv-model.js';
import { searchLinearization, type SearchBudget, type SearchOp } from './linearizability-search.js';
import { formatOperation, type KvOperation } from './linearizability-types.js';

export interface Violation {
  key: string;
  /**
   * The operation whose return first makes the key's history impossible: every prefix of the history that ends
   * before it returned is linearizable. Undefined when the budget ran out before the prefix was minimized.
   */
  culprit: KvOperation | undefined;
  /** The shortest failing prefix: operations invoked before the culprit returned (those still running then count as unknown). */
  prefix: KvOperation[];
  /** Operations of the prefix whose intervals overlap the culprit's. */
  concurrent: KvOperation[];
  /** The longest order of prefix operations the search could justify, and the value it leaves for the key. */
  longestLinearization: KvOperation[];
  valueAfterLongest: string | undefined;
  message: string;
}

interface Prefix {
  search: SearchOp[];
  sources: number[];
}

/**
 * Linearizability is prefix-closed (operations still running at the cut become unknown-outcome ones), so
 * "the first k returns" fails monotonically in k and a binary search finds the shortest failing prefix.
 */
export function explainViolation(kh: KeyHistory, budget: SearchBudget, fullLongest: number[]): Violation {
  const finiteOrder = kh.ops
    .map((op, i) => ({ i, ret: op.returnTime }))
    .filter((x): x is { i: number; ret: number } => x.ret !== undefined)
    .sort((a, b) => a.ret - b.ret || a.i - b.i)
    .map((x) => x.i);
  const rank = new Map<number, number>(finiteOrder.map((i, r) => [i, r]));

  const prefixOf = (k: number): Prefix => {
    const cut = kh.ops[finiteOrder[k - 1] as number] as KvOperation;
    const cutTime = cut.returnTime as number;
    const search: SearchOp[] = [];
    const sources: number[] = [];
    kh.ops.forEach((op, i) => {
      if (op.invokeTime > cutTime) return;
      const r = rank.get(i);
      if (r !== undefined && r < k) search.push(kh.search[i] as SearchOp);
      else if (op.op === 'read') return;
      else search.push(kh.searchUnknown[i] as SearchOp);
      sources.push(i);
    });
    return { search, sources };
  };

  let lo = 1;
  let hi = finiteOrder.length;
  let minimized = true;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    const outcome = searchLinearization(prefixOf(mid).search, kh.initialState, budget);
    if (outcome.kind === 'exhausted') {
      minimized = false;
      break;
    }
    if (outcome.kind === 'illegal') hi = mid;
    else lo = mid + 1;
  }

  const prefix = prefixOf(hi);
  let longest = fullLongest.map((i) => kh.ops[i] as KvOperation);
  const final = searchLinearization(prefix.search, kh.initialState, budget, { trackLongest: true });
  if (final.kind === 'illegal') longest = final.longest.map((j) => kh.ops[prefix.sources[j] as number] as KvOperation);
  else minimized = false;

  let value = kh.initialValue;
  for (const op of longest) {
    if (op.op === 'write') value = op.input.value;
    else if (op.op === 'delete') value = undefined;
    else if (op.op === 'cas' && value === op.input.expected) value = op.input.value;
  }

  const culprit = minimized ? (kh.ops[finiteOrder[hi - 1] as number] as KvOperation) : undefined;
  const prefixOps = prefix.sources.map((i) => kh.ops[i] as KvOperation);
  const concurrent =
    culprit === undefined
      ? []
      : prefixOps.filter(
          (op) => op !== culprit && op.invokeTime <= (culprit.returnTime as number) && (op.returnTime ?? Infinity) >= culprit.invokeTime,
        );
  return {
    key: kh.key,
    culprit,
    prefix: prefixOps,
    concurrent,
    longestLinearization: longest,
    valueAfterLongest: value,
    message: formatViolation(kh, culprit, prefixOps, concurrent, longest, value),
  };
}

function listed(title: string, ops: readonly KvOperation[], max: number, fromEnd: boolean): string[] {
  if (ops.length === 0) return [`${title}: none`];
  const shown = fromEnd ? ops.slice(-max) : ops.slice(0, max);
  const more = ops.length - shown.length;
  const note = more > 0 ? ` (${fromEnd ? 'last' : 'first'} ${shown.length} of ${ops.length})` : '';
  return [`${title}${note}:`, ...shown.map((op) => `  ${formatOperation(op)}`)];
}

function formatViolation(
  kh: KeyHistory,
  culprit: KvOperation | undefined,
  prefix: readonly KvOperation[],
  concurrent: readonly KvOperation[],
  longest: readonly KvOperation[],
  value: string | undefined,
): string {
  const lines = [`key ${JSON.stringify(kh.key)} is not linearizable (${kh.ops.length} operations on it).`];
  if (culprit === undefined) {
    lines.push('The search budget ran out before the failing prefix was minimized.');
  } else {
    lines.push(
      `No order explains this operation together with the ${prefix.length - 1} invoked before it returned:`,
      `  ${formatOperation(culprit)}`,
      ...listed('Concurrent with it', concurrent, 20, false),
    );
  }
  const valueText = value === undefined ? 'absent' : JSON.stringify(value);
  lines.push(...listed(`Longest legal order found (leaves the key ${valueText})`, longest, 15, true));
  return lines.join('\n');
}
