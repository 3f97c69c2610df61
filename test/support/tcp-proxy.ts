import { connect, createServer, type Socket } from 'node:net';

/**
 * A TCP forwarder that tests put between peers to inject network faults: partitions (block/unblock) and latency
 * (delay). It listens on loopback and opens one upstream connection per accepted connection.
 *
 * Partition model. block() resets every live connection in both directions at once, so nothing sent before the
 * partition trickles through afterwards and both ends notice right away. Connections attempted while blocked
 * are, by default, held: accepted but silent, with nothing read, forwarded or connected upstream, as when SYNs
 * and packets vanish into a partition. The caller sees neither a refusal nor an answer and must rely on its own
 * timeouts, which is what a real partition tests. A fast "connection refused" would instead tell a transport
 * that the peer is down, an answer a real partition never gives. On unblock() the held connections that are
 * still open are spliced through, as a retransmitted SYN gets through once the network heals; their buffered
 * bytes may then be stale, as delayed packets are. `whenBlocked: 'reset'` resets new connections instead.
 */
export interface TcpProxyOptions {
  targetHost: string;
  targetPort: number;
  /** Default 0: the OS picks a free port (read it from `port`). */
  listenPort?: number;
  listenHost?: string;
  whenBlocked?: 'hold' | 'reset';
}

export interface TcpProxy {
  readonly port: number;
  /** Partition: reset live connections both ways; hold (or reset) new ones until unblock(). */
  block(): void;
  /** Heal: forward again, splicing held connections through. */
  unblock(): void;
  isBlocked(): boolean;
  /** Adds `ms` of latency to every chunk in each direction from now on (order preserved); 0 removes it. */
  delay(ms: number): void;
  /** Connections currently forwarded (including ones still connecting upstream). */
  liveConnections(): number;
  /** Connections accepted while blocked and waiting for unblock(). */
  heldConnections(): number;
  /** Stops listening, frees the port and destroys every socket. */
  close(): Promise<void>;
}

interface Link {
  client: Socket;
  upstream: Socket;
  timers: Set<NodeJS.Timeout>;
}

/**
 * RST rather than FIN, so a peer mid-message sees an error instead of what could pass for a clean end.
 * Not after end(): libuv refuses to reset a socket whose shutdown is under way (EINVAL), and Node then
 * leaves the handle half-closed, which makes the process spin forever at exit; such a side already sent
 * its FIN, so a plain destroy loses nothing.
 */
function reset(socket: Socket): void {
  if (socket.destroyed) return;
  if (socket.connecting || socket.writableEnded) {
    socket.destroy();
    return;
  }
  try {
    socket.resetAndDestroy();
  } catch {
    socket.destroy();
  }
}

export async function startTcpProxy(options: TcpProxyOptions): Promise<TcpProxy> {
  const { targetHost, targetPort, listenPort = 0, listenHost = '127.0.0.1', whenBlocked = 'hold' } = options;
  const links = new Set<Link>();
  const held = new Set<Socket>();
  let blocked = false;
  let closed = false;
  let delayMs = 0;

  const cut = (link: Link): void => {
    if (!links.delete(link)) return;
    for (const timer of link.timers) clearTimeout(timer);
    link.timers.clear();
    reset(link.client);
    reset(link.upstream);
  };

  // One direction of a link. Delayed chunks keep their order because each is due no earlier than the previous.
  const forward = (link: Link, from: Socket, to: Socket): void => {
    let lastDue = 0;
    let waiting = false;
    const deliver = (chunk: Buffer | null): void => {
      if (!links.has(link) || to.destroyed) return;
      if (chunk === null) {
        to.end();
        return;
      }
      if (!to.write(chunk) && !waiting) {
        waiting = true;
        from.pause();
        to.once('drain', () => {
          waiting = false;
          from.resume();
        });
      }
    };
    const schedule = (chunk: Buffer | null): void => {
      const now = Date.now();
      if (delayMs === 0 && lastDue <= now) {
        deliver(chunk);
        return;
      }
      const due = Math.max(now + delayMs, lastDue);
      lastDue = due;
      const timer = setTimeout(() => {
        link.timers.delete(timer);
        deliver(chunk);
      }, due - now);
      link.timers.add(timer);
    };
    from.on('data', (chunk: Buffer) => schedule(chunk));
    from.on('end', () => schedule(null));
  };

  const splice = (client: Socket): void => {
    const upstream = connect({ host: targetHost, port: targetPort, allowHalfOpen: true });
    const link: Link = { client, upstream, timers: new Set() };
    links.add(link);
    // A side that closed cleanly has already passed its end on, and the other side finishes on its own; a side
    // that failed (reset, refused, unreachable target) takes the other down with a reset, as a dead host would.
    const onClose = (hadError: boolean): void => {
      if (hadError || (client.destroyed && upstream.destroyed)) cut(link);
    };
    client.on('error', () => cut(link));
    upstream.on('error', () => cut(link));
    client.on('close', onClose);
    upstream.on('close', onClose);
    upstream.once('connect', () => {
      upstream.setNoDelay(true);
      forward(link, client, upstream);
      forward(link, upstream, client);
      client.resume();
    });
  };

  const server = createServer({ allowHalfOpen: true, pauseOnConnect: true }, (client) => {
    client.setNoDelay(true);
    if (closed) {
      reset(client);
      return;
    }
    if (!blocked) {
      splice(client);
      return;
    }
    if (whenBlocked === 'reset') {
      client.on('error', () => undefined);
      reset(client);
      return;
    }
    held.add(client);
    client.on('error', () => undefined);
    client.on('close', () => held.delete(client));
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(listenPort, listenHost, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('tcp proxy: no listening address');

  return {
    port: address.port,
    block() {
      blocked = true;
      for (const link of [...links]) cut(link);
    },
    unblock() {
      blocked = false;
      for (const client of [...held]) {
        held.delete(client);
        if (!client.destroyed) splice(client);
      }
    },
    isBlocked: () => blocked,
    delay(ms: number) {
      delayMs = Math.max(0, ms);
    },
    liveConnections: () => links.size,
    heldConnections: () => held.size,
    async close() {
      if (closed) return;
      closed = true;
      const stopped = new Promise<void>((resolve) => server.close(() => resolve()));
      for (const link of [...links]) cut(link);
      for (const client of held) reset(client);
      held.clear();
      await stopped;
    },
  };
}
