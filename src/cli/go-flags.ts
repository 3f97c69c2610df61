/**
 * confd is a Go program, so its users write `-onetime -backend etcd
 * -node=http://…`. Commander reads a single dash as a bundle of short
 * options; rewrite multi-letter single-dash flags to the double-dash form so
 * existing unit files and scripts work unchanged.
 */
export function acceptGoStyleFlags(args: readonly string[]): string[] {
  const out: string[] = [];
  for (const arg of args) {
    if (arg === '--') {
      out.push(...args.slice(out.length));
      break;
    }
    out.push(/^-[a-z][a-z0-9-]+(=.*)?$/i.test(arg) ? `-${arg}` : arg);
  }
  return out;
}
