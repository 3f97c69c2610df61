/** Knobs shared by every suite; each suite decides how it spends them. */
export interface BenchOptions {
  /** Measured rounds per peer; the reported figure is the median round. */
  readonly rounds: number;
  /** Length of one timed load phase, in seconds. */
  readonly seconds: number;
  /** When set, Cairn runs under `node --cpu-prof` and writes its profile here. */
  readonly cpuProfDir: string | undefined;
}

export interface BenchSuite {
  readonly name: string;
  run(options: BenchOptions): Promise<void>;
}

/**
 * A suite is imported only when it runs, so a suite whose dependencies are
 * still being written (agent, cluster) cannot break the others.
 */
export interface SuiteEntry {
  readonly name: string;
  readonly summary: string;
  load(): Promise<BenchSuite>;
}
