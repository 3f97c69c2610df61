import { connect, createServer, type Server, type Socket } from 'node:net';
import { FROM_HEADER } from '../../src/transport/paths.js';
import { startTcpProxy, type TcpProxy } from './tcp-proxy.js';

/**
 * Directed network links between cluster members, each of which a test can cut and heal.
 *
 * A member is known to the others by one peer URL (its id is hashed from it), so per-sender proxies cannot be
 * told apart by URL. Instead each member gets one front door on its advertised peer URL that reads the first
 * request head of every connection, finds the sender's member id in its X-Cairn-From header (every Raft message
 * batch carries it, and each sender keeps its own connections), and splices the connection, request bytes
 * included, into the TcpProxy of that directed link (sender → member). Blocking a link is then the TcpProxy's
 * partition model: live connections reset, new ones held silently until heal. A connection that names no known
 * sender (GET /members, say) goes straight through, as no Raft traffic rides on it.
 */
export interface PeerNetMember {
  readonly name: string;
  /** The member id its peers send in X-Cairn-From. */
  readonly id: string;
  /** Where the member really listens for peers (--listen-peer-urls). */
  readonly listenPort: number;
}

export interface PeerNet {
  /** The URL peers use for `name` (its --initial-advertise-peer-urls and --initial-cluster entry). */
  advertisedUrl(name: string): string;
  /** Cuts the link carrying `from`'s messages to `to` (and the answers on the same connections). */
  block(from: string, to: string): void;
  unblock(from: string, to: string): void;
  /** Cuts every link that crosses from one side to another; links inside a side stay up. Members named in no side form one more side. */
  partition(sides: readonly (readonly string[])[]): void;
  /** Cuts `name` off from everyone, both ways. */
  isolate(name: string): void;
  /** Only `name`'s outgoing links are cut: it hears the others, they do not hear it. */
  mute(name: string): void;
  /** Every link up again. */
  heal(): void;
  /**
   * The member's process is gone: its peer URL refuses connections, as a host answers a SYN to a closed port,
   * rather than the proxies accepting and then resetting them.
   */
  down(name: string): Promise<void>;
  /** Its peer URL accepts connections again. */
  up(name: string): Promise<void>;
  /** "a→b" for every link cut now. */
  blockedLinks(): string[];
  close(): Promise<void>;
}

const MAX_HEAD_BYTES = 64 * 1024;
const HEAD_END = Buffer.from('\r\n\r\n');
const FROM_LINE = new RegExp(`^${FROM_HEADER}:[ \\t]*([0-9a-fA-F]+)[ \\t]*$`, 'im');

/** As in tcp-proxy.ts: a RST, except after end(), where a reset fails and would leave a stuck handle behind. */
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

/** Reads the first request head, then pipes the connection to the port `route` picks for the sender id. */
interface FrontDoor {
  readonly port: number;
  /** Stops accepting (connections are refused, as by a host whose process died) and drops live ones. */
  down(): Promise<void>;
  /** Accepts again, on the same port. */
  up(): Promise<void>;
  close(): Promise<void>;
}

function listen(server: Server, port: number): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
}

async function startFrontDoor(route: (from: string | undefined) => number | undefined): Promise<FrontDoor> {
  const sockets = new Set<Socket>();
  const track = (s: Socket): void => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  };
  const server: Server = createServer({ allowHalfOpen: true }, (client) => {
    track(client);
    client.setNoDelay(true);
    let head = Buffer.alloc(0);
    let upstream: Socket | undefined;
    client.on('error', () => {
      if (upstream !== undefined) reset(upstream);
    });
    const onData = (chunk: Buffer): void => {
      head = Buffer.concat([head, chunk]);
      const end = head.indexOf(HEAD_END);
      if (end === -1 && head.length < MAX_HEAD_BYTES) return;
      client.off('data', onData);
      client.pause();
      const text = head.subarray(0, end === -1 ? head.length : end).toString('latin1');
      const port = route(FROM_LINE.exec(text)?.[1]?.toLowerCase());
      if (port === undefined) {
        reset(client);
        return;
      }
      const up = connect({ host: '127.0.0.1', port, allowHalfOpen: true });
      upstream = up;
      track(up);
      up.setNoDelay(true);
      // A reset on either side is passed on as a reset, so a cut link looks cut to the sender too.
      up.on('error', () => reset(client));
      up.on('close', (hadError) => {
        if (hadError) reset(client);
      });
      up.write(head);
      client.pipe(up);
      up.pipe(client);
      client.resume();
    };
    client.on('data', onData);
    client.on('end', () => {
      if (upstream === undefined) client.end();
    });
  });
  await listen(server, 0);
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('front door: no listening address');
  const port = address.port;
  const stop = async (): Promise<void> => {
    if (!server.listening) return;
    const closed = new Promise<void>((resolve) => server.close(() => resolve()));
    for (const s of sockets) reset(s);
    await closed;
  };
  return {
    port,
    down: stop,
    async up() {
      if (!server.listening) await listen(server, port);
    },
    close: stop,
  };
}

/**
 * Front doors exist before the members do: their URLs go into --initial-cluster, and member ids are hashed
 * from them (memberIdFor in src/replica/cluster-spec.ts). wire() then adds the links, given those ids.
 */
export interface ReservedPeerNet {
  /** Front-door URL per member name, known before ids and processes exist. */
  readonly urls: ReadonlyMap<string, string>;
  /** Connects each front door to its member's links once the member ids are known. */
  wire(members: readonly PeerNetMember[]): Promise<PeerNet>;
  close(): Promise<void>;
}

/**
 * Listens on an OS-chosen port that is not in `avoid`: the members' own ports were picked (and released) by
 * freePort before any proxy existed, and the OS may hand one of them out again.
 */
async function listenAvoiding<T extends { port: number; close(): Promise<void> }>(avoid: ReadonlySet<number>, open: () => Promise<T>): Promise<T> {
  for (let attempt = 0; ; attempt++) {
    const opened = await open();
    if (!avoid.has(opened.port)) return opened;
    await opened.close();
    if (attempt > 20) throw new Error('peer net: no free port outside the reserved ones');
  }
}

/** `avoid`: ports reserved for the members, which no proxy may take. */
export async function reservePeerNet(names: readonly string[], avoid: ReadonlySet<number>): Promise<ReservedPeerNet> {
  // Routes are looked up per connection, so the front doors can exist before the members and links do;
  // until wire(), a connection to a front door is reset.
  const routers = new Map<string, (from: string | undefined) => number>();
  const doors = new Map<string, FrontDoor>();
  const urls = new Map<string, string>();
  try {
    for (const name of names) {
      const door = await listenAvoiding(avoid, () => startFrontDoor((from) => routers.get(name)?.(from)));
      doors.set(name, door);
      urls.set(name, `http://127.0.0.1:${door.port}`);
    }
  } catch (err) {
    await Promise.all([...doors.values()].map((d) => d.close()));
    throw err;
  }
  const closeDoors = async (): Promise<void> => {
    await Promise.all([...doors.values()].map((d) => d.close()));
  };

  return {
    urls,
    close: closeDoors,
    async wire(members) {
      const links = new Map<string, TcpProxy>();
      const key = (from: string, to: string): string => `${from}→${to}`;
      const byName = new Map(members.map((m) => [m.name, m]));
      try {
        for (const to of members) {
          for (const from of members) {
            if (from === to) continue;
            const proxy = await listenAvoiding(avoid, () => startTcpProxy({ targetHost: '127.0.0.1', targetPort: to.listenPort }));
            links.set(key(from.name, to.name), proxy);
          }
        }
      } catch (err) {
        await Promise.all([...links.values()].map((l) => l.close()));
        throw err;
      }
      for (const to of members) {
        routers.set(to.name, (fromId) => {
          const from = members.find((m) => m.id === fromId && m !== to);
          const link = from === undefined ? undefined : links.get(key(from.name, to.name));
          return link?.port ?? to.listenPort;
        });
      }
      const link = (from: string, to: string): TcpProxy => {
        const l = links.get(key(from, to));
        if (l === undefined) throw new Error(`peer net: no link ${key(from, to)}`);
        return l;
      };
      const names = members.map((m) => m.name);
      const net: PeerNet = {
        advertisedUrl(name) {
          const url = urls.get(name);
          if (url === undefined || !byName.has(name)) throw new Error(`peer net: unknown member ${name}`);
          return url;
        },
        block: (from, to) => link(from, to).block(),
        unblock: (from, to) => link(from, to).unblock(),
        partition(sides) {
          const sideOf = new Map<string, number>();
          sides.forEach((side, i) => side.forEach((n) => sideOf.set(n, i)));
          for (const from of names) {
            for (const to of names) {
              if (from !== to && sideOf.get(from) !== sideOf.get(to)) link(from, to).block();
            }
          }
        },
        isolate(name) {
          net.partition([[name], names.filter((n) => n !== name)]);
        },
        mute(name) {
          for (const to of names) if (to !== name) link(name, to).block();
        },
        heal() {
          for (const l of links.values()) l.unblock();
        },
        async down(name) {
          await doors.get(name)?.down();
        },
        async up(name) {
          await doors.get(name)?.up();
        },
        blockedLinks: () => [...links].filter(([, l]) => l.isBlocked()).map(([k]) => k),
        async close() {
          await Promise.all([...links.values()].map((l) => l.close()));
          await closeDoors();
        },
      };
      return net;
    },
  };
}
