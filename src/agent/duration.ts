const UNIT_MS: Readonly<Record<string, number>> = { ns: 1e-6, us: 1e-3, 'µs': 1e-3, ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/**
 * Parses a Go-style duration ("30s", "2m", "1m30s", "500ms", "1.5h") or a
 * bare number of seconds (as a number or a numeric string) into milliseconds.
 * Returns undefined for anything else, so the caller can report where it was.
 */
export function parseDurationMs(input: string | number): number | undefined {
  if (typeof input === 'number') return Number.isFinite(input) && input >= 0 ? input * 1000 : undefined;
  const text = input.trim();
  if (/^\d+(\.\d+)?$/.test(text)) return Number(text) * 1000;
  const part = /(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h)/y;
  let total = 0;
  let pos = 0;
  while (pos < text.length) {
    part.lastIndex = pos;
    const m = part.exec(text);
    if (m?.[1] === undefined || m[2] === undefined) return undefined;
    total += Number(m[1]) * (UNIT_MS[m[2]] ?? Number.NaN);
    pos = part.lastIndex;
  }
  return text === '' || !Number.isFinite(total) ? undefined : total;
}
