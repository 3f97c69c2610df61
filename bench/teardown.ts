/**
 * Cleanups that must also run when the user interrupts a benchmark, so no
 * server or temp dir outlives Ctrl-C. Suites register what they start and
 * unregister it once they have cleaned up themselves.
 */
const pending = new Set<() => Promise<void>>();

export function onTeardown(cleanup: () => Promise<void>): () => void {
  pending.add(cleanup);
  return () => {
    pending.delete(cleanup);
  };
}

export async function teardownAll(): Promise<void> {
  const all = [...pending];
  pending.clear();
  await Promise.allSettled(all.map((cleanup) => cleanup()));
}
