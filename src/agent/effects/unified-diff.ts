import { createTwoFilesPatch } from 'diff';

/** A unified diff of dest as it is against what would be written, for --noop. */
export function unifiedDiff(dest: string, before: string | undefined, after: string, label: string): string {
  const patch = createTwoFilesPatch(dest, dest, before ?? '', after, before === undefined ? '(does not exist)' : '(current)', label, { context: 3 });
  // Keep the patch(1)-style body; the library's "Index:"/"====" banner is noise here.
  return patch.slice(Math.max(0, patch.indexOf('--- ')));
}
