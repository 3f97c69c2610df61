import type { Server } from 'node:http';

/**
 * Stops listening and waits for in-flight requests. Idle keep-alive sockets
 * are closed at once; parked long polls would hold close() open for ever, so
 * whatever is still open after `graceMs` is cut.
 */
export function closeServers(servers: readonly Server[], graceMs: number): Promise<void> {
  return Promise.all(
    servers.map(
      (server) =>
        new Promise<void>((resolve) => {
          server.close(() => resolve());
          server.closeIdleConnections();
          setTimeout(() => server.closeAllConnections(), graceMs).unref();
        }),
    ),
  ).then(() => undefined);
}
