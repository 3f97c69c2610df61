import { createConnection, createServer, type Server, type Socket } from 'node:net';

/**
 * A TCP proxy on 127.0.0.1 in front of one server, which can cut every
 * connection through it at once, or each one after a random number of
 * bytes from the server: a broken network between a client and a member
 * while the member itself keeps running.
 */
export interface CutProxy {
  readonly url: string;
  /** Connections accepted so far. */
  readonly accepted: number;
  /** Connections cut so far. */
  readonly cuts: number;
  /** Destroys every open connection (both sides). */
  cutAll(): void;
  /**
   * From now on, cut each connection once the server has sent it more than a
   * random budget of bytes in [min, max]; undefined stops it.
   */
  chaos(budget: { readonly min: number; readonly max: number; readonly random: () => number } | undefined): void;
  close(): Promise<void>;
}

export async function startCutProxy(target: string): Promise<CutProxy> {
  const { hostname, port } = new URL(target);
  const pairs = new Set<[Socket, Socket]>();
  let accepted = 0;
  let cuts = 0;
  let budget: { min: number; max: number; random: () => number } | undefined;
  const cut = (pair: [Socket, Socket]): void => {
    if (!pairs.delete(pair)) return;
    cuts += 1;
    pair[0].destroy();
    pair[1].destroy();
  };
  const server: Server = createServer((client) => {
    accepted += 1;
    const upstream = createConnection({ host: hostname, port: Number(port) });
    const pair: [Socket, Socket] = [client, upstream];
    pairs.add(pair);
    const limit = budget === undefined ? Number.POSITIVE_INFINITY : budget.min + Math.floor(budget.random() * (budget.max - budget.min + 1));
    let sent = 0;
    upstream.on('data', (chunk: Buffer) => {
      if (sent + chunk.length > limit) {
        // Deliver part of the chunk, so a cut can fall inside a message as well as between two.
        client.write(chunk.subarray(0, Math.max(0, limit - sent)), () => cut(pair));
        sent = limit;
        upstream.pause();
        return;
      }
      sent += chunk.length;
      if (!client.write(chunk)) upstream.pause();
    });
    client.on('drain', () => upstream.resume());
    client.on('data', (chunk: Buffer) => {
      if (!upstream.write(chunk)) client.pause();
    });
    upstream.on('drain', () => client.resume());
    const end = (): void => {
      pairs.delete(pair);
      client.destroy();
      upstream.destroy();
    };
    for (const socket of pair) {
      socket.on('error', end);
      socket.on('close', end);
    }
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', resolve);
  });
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('proxy has no port');
  return {
    url: `http://127.0.0.1:${address.port}`,
    get accepted() {
      return accepted;
    },
    get cuts() {
      return cuts;
    },
    cutAll() {
      for (const pair of [...pairs]) cut(pair);
    },
    chaos(next) {
      budget = next;
    },
    close() {
      for (const pair of [...pairs]) cut(pair);
      return new Promise((resolve) => server.close(() => resolve()));
    },
  };
}
