/**
 * A small Go fmt.Sprintf for templates ported from confd, which build key
 * paths with `printf "/services/%s/*" $name`. Verbs: %s %v %d %q %%. Where
 * Go would print a `%!verb(...)` marker into the output, this throws instead:
 * a config file with a marker in it is worse than a failed render.
 */
export function goSprintf(format: string, args: readonly unknown[]): string {
  let next = 0;
  const out = format.replace(/%([%svdq])|%(.)/g, (_whole, verb: string | undefined, unknown: string | undefined) => {
    if (verb === '%') return '%';
    if (verb === undefined) throw new Error(`unsupported verb %${unknown ?? ''} (use %s, %v, %d, %q)`);
    if (next >= args.length) throw new Error(`format "${format}" needs more arguments than the ${args.length} given`);
    const arg = args[next++];
    switch (verb) {
      case 'd':
        if (typeof arg !== 'number' || !Number.isInteger(arg)) throw new Error(`%d needs an integer, got ${goValue(arg)}`);
        return String(arg);
      case 'q':
        return JSON.stringify(typeof arg === 'string' ? arg : goValue(arg));
      default:
        return goValue(arg);
    }
  });
  if (next < args.length) throw new Error(`format "${format}" uses ${next} of the ${args.length} arguments given`);
  return out;
}

/** Go's %v rendering of the values templates handle: [a b] for lists, {k v} for pairs. */
export function goValue(v: unknown): string {
  if (v === undefined || v === null) return '<nil>';
  if (Array.isArray(v)) return `[${v.map(goValue).join(' ')}]`;
  if (typeof v === 'object') {
    return `map[${Object.keys(v).sort().map((k) => `${k}:${goValue((v as Record<string, unknown>)[k])}`).join(' ')}]`;
  }
  return String(v);
}
