import { CairnError } from '../util/errors.js';
import { goQuote, parseGoBool, parseGoDuration, parseGoInt } from './go-values.js';

/**
 * One flag as urfave/cli declares it: `names` is its long name first, then
 * aliases ("recursive", "r"). Values are typed like Go's flag package.
 */
export interface FlagSpec {
  readonly names: readonly string[];
  readonly kind: 'bool' | 'string' | 'int' | 'duration';
  readonly usage: string;
  /** Shown in help as "(default: …)"; ints and durations always show theirs. */
  readonly defaultText?: string;
  /** urfave's placeholder: the back-quoted word in the usage text, else "value". */
  readonly placeholder?: string;
}

export type FlagValue = boolean | string | number;

/** The flags one parse saw, by every name of each flag (aliases filled in as urfave's normalizeFlags does). */
export class FlagValues {
  readonly #values = new Map<string, FlagValue>();

  set(name: string, value: FlagValue): void {
    this.#values.set(name, value);
  }

  has(name: string): boolean {
    return this.#values.has(name);
  }

  bool(name: string): boolean {
    return this.#values.get(name) === true;
  }

  string(name: string): string {
    const v = this.#values.get(name);
    return typeof v === 'string' ? v : '';
  }

  /** An int flag, or `fallback` when it was not given. */
  int(name: string, fallback = 0): number {
    const v = this.#values.get(name);
    return typeof v === 'number' ? v : fallback;
  }

  /** A duration flag in milliseconds, or `fallback` when it was not given. */
  duration(name: string, fallback: number): number {
    const v = this.#values.get(name);
    return typeof v === 'number' ? v : fallback;
  }
}

export interface FlagParse {
  readonly values: FlagValues;
  /** What was left after the flags: the positional arguments, in order. */
  readonly args: readonly string[];
}

/** A usage error worded as Go's flag package words it ("flag provided but not defined: -x"). */
export class FlagSyntaxError extends CairnError {
  constructor(message: string) {
    super('CAIRN_CTL_USAGE', message);
  }
}

function findSpec(specs: readonly FlagSpec[], name: string): FlagSpec | undefined {
  return specs.find((s) => s.names.includes(name));
}

/**
 * Parses like Go's flag.FlagSet.Parse: flags come first, `-name`, `--name`,
 * `-name=value` and `-name value` are all accepted, booleans take a value only
 * after `=`, parsing stops at the first argument that is not a flag, and a
 * bare `--` is consumed as the end of the flags. Then aliases are merged as
 * urfave/cli does, refusing two spellings of one flag.
 */
export function parseGoFlags(specs: readonly FlagSpec[], input: readonly string[]): FlagParse {
  const seen = new Map<string, FlagValue>();
  const order: string[] = [];
  let args = [...input];
  for (;;) {
    const s = args[0];
    if (s === undefined || s.length < 2 || s[0] !== '-') break;
    let minuses = 1;
    if (s[1] === '-') {
      minuses = 2;
      if (s.length === 2) {
        args = args.slice(1);
        break;
      }
    }
    let name = s.slice(minuses);
    if (name.length === 0 || name[0] === '-' || name[0] === '=') throw new FlagSyntaxError(`bad flag syntax: ${s}`);
    args = args.slice(1);
    let value: string | undefined;
    const eq = name.indexOf('=', 1);
    if (eq > 0) {
      value = name.slice(eq + 1);
      name = name.slice(0, eq);
    }
    const spec = findSpec(specs, name);
    if (spec === undefined) throw new FlagSyntaxError(`flag provided but not defined: -${name}`);
    if (spec.kind === 'bool') {
      if (value === undefined) seen.set(name, true);
      else {
        const b = parseGoBool(value);
        if (!b.ok) throw new FlagSyntaxError(`invalid boolean value ${goQuote(value)} for -${name}: ${b.error}`);
        seen.set(name, b.value);
      }
    } else {
      if (value === undefined) {
        if (args.length === 0) throw new FlagSyntaxError(`flag needs an argument: -${name}`);
        value = args[0] as string;
        args = args.slice(1);
      }
      seen.set(name, parseValue(spec, name, value));
    }
    if (!order.includes(name)) order.push(name);
  }
  const values = new FlagValues();
  for (const spec of specs) {
    const given = spec.names.filter((n) => seen.has(n));
    if (given.length === 0) continue;
    if (given.length > 1) {
      throw new FlagSyntaxError(`Cannot use two forms of the same flag: ${given[1] as string} ${given[0] as string}`);
    }
    const value = seen.get(given[0] as string) as FlagValue;
    for (const n of spec.names) values.set(n, value);
  }
  return { values, args };
}

function parseValue(spec: FlagSpec, name: string, value: string): FlagValue {
  if (spec.kind === 'string') return value;
  const parsed = spec.kind === 'int' ? parseGoInt(value) : parseGoDuration(value);
  if (!parsed.ok) throw new FlagSyntaxError(`invalid value ${goQuote(value)} for flag -${name}: ${parsed.error}`);
  return parsed.value;
}

/** True when `arg` names one of `specs` (urfave/cli's argIsFlag: "-x", "--x" or "--x=v"). */
export function isDeclaredFlag(specs: readonly FlagSpec[], arg: string): boolean {
  if (arg === '-' || !arg.startsWith('-')) return false;
  let name = arg.startsWith('--') ? arg.slice(2) : arg.slice(1);
  name = name.split('=')[0] as string;
  return findSpec(specs, name) !== undefined;
}

/**
 * urfave/cli 1.22's reorderArgs: a command's own flags (and the word after
 * each, which may be its value) move to the front so that `set /k v --ttl 5`
 * works, while everything after a `--` stays put behind a leading `--`.
 */
export function reorderCommandArgs(specs: readonly FlagSpec[], args: readonly string[]): string[] {
  const flags: string[] = [];
  let rest: string[] = [];
  let mayBeValue = false;
  for (let i = 0; i < args.length; i++) {
    const arg = args[i] as string;
    if (mayBeValue && !isDeclaredFlag(specs, arg)) {
      mayBeValue = false;
      flags.push(arg);
    } else if (arg === '--') {
      rest = ['--', ...rest, ...args.slice(i + 1)];
      break;
    } else if (isDeclaredFlag(specs, arg)) {
      flags.push(arg);
      mayBeValue = !arg.includes('=');
    } else {
      rest.push(arg);
    }
  }
  return [...flags, ...rest];
}
