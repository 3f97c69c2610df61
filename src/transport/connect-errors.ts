// Errors raised before a connection existed: the request cannot have reached the other side.
const NOT_CONNECTED = new Set(['ECONNREFUSED', 'EHOSTUNREACH', 'ENETUNREACH', 'ENOTFOUND', 'EADDRNOTAVAIL', 'UND_ERR_CONNECT_TIMEOUT']);

/**
 * True when an HTTP request failed before any byte of it could have been
 * delivered, which makes resending it elsewhere safe even for a write.
 */
export function neverConnected(err: unknown): boolean {
  for (let e: unknown = err; e !== undefined && e !== null; e = (e as { cause?: unknown }).cause) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'string' && NOT_CONNECTED.has(code)) return true;
    if (e === (e as { cause?: unknown }).cause) break;
  }
  return false;
}
