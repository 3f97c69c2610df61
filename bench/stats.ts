/**
 * Latency samples in milliseconds. Storage grows by doubling so that
 * recording a sample on the hot path never allocates.
 */
export class Samples {
  private data = new Float64Array(4096);
  private size = 0;
  private sorted = true;

  add(ms: number): void {
    if (this.size === this.data.length) {
      const grown = new Float64Array(this.size * 2);
      grown.set(this.data);
      this.data = grown;
    }
    this.data[this.size++] = ms;
    this.sorted = false;
  }

  get count(): number {
    return this.size;
  }

  /** Nearest-rank percentile (p in 0..100); NaN when there are no samples. */
  percentile(p: number): number {
    if (this.size === 0) return Number.NaN;
    if (!this.sorted) {
      this.data.subarray(0, this.size).sort();
      this.sorted = true;
    }
    const rank = Math.min(this.size, Math.max(1, Math.ceil((p / 100) * this.size)));
    return this.data[rank - 1] ?? Number.NaN;
  }
}

export function median(values: readonly number[]): number {
  const finite = values.filter((v) => Number.isFinite(v)).sort((a, b) => a - b);
  if (finite.length === 0) return Number.NaN;
  const mid = finite.length >> 1;
  const hi = finite[mid] ?? Number.NaN;
  return finite.length % 2 === 1 ? hi : ((finite[mid - 1] ?? hi) + hi) / 2;
}
