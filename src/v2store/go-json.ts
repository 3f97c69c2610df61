/**
 * JSON text as Go's encoding/json writes it, so bodies match etcd byte for
 * byte: Go escapes <, > and & (HTML-safe by default) and U+2028/U+2029.
 */
const goEscapes = /[<>&\u2028\u2029]/g;
const needsEscape = /[<>&\u2028\u2029]/;

function escapeChar(ch: string): string {
  return `\\u${ch.charCodeAt(0).toString(16).padStart(4, '0')}`;
}

export function goJson(value: unknown): string {
  const text = JSON.stringify(value);
  return needsEscape.test(text) ? text.replace(goEscapes, escapeChar) : text;
}

/**
 * RFC 3339 with Go's trimmed fractional seconds (time.RFC3339Nano):
 * "2026-01-02T03:04:05.12Z", no trailing zeros, no dot for whole seconds.
 */
export function goTime(epochMs: number): string {
  const iso = new Date(epochMs).toISOString();
  const dot = iso.indexOf('.');
  const fraction = iso.slice(dot + 1, -1).replace(/0+$/, '');
  return fraction === '' ? `${iso.slice(0, dot)}Z` : `${iso.slice(0, dot)}.${fraction}Z`;
}
