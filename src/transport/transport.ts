import type { Logger } from '../log/logger.js';
import type { Message, NodeId } from '../raft/types.js';
import { PeerSender } from './peer-sender.js';
import { PeerServer } from './peer-server.js';

export interface TransportHandlers {
  /** A batch from a peer, in the order the peer sent it. */
  onMessages(messages: Message[], bytes: number): void;
  /** Sending to `id` failed: the core should stop streaming to it and probe. */
  onUnreachable(id: NodeId): void;
  /** Outcome of a snapshot message to `id` (the core must hear about failures). */
  onSnapshotStatus(id: NodeId, ok: boolean): void;
  /** A batch to `id` with `appends` append messages was delivered (ok) or lost, after `ms`. */
  onBatch(id: NodeId, ok: boolean, appends: number, ms: number): void;
  /**
   * Messages that certainly never reached `id` (it refused the connection).
   * Unlike a lost answer, this is proof: a proposal among them can be made
   * again without any risk of applying it twice.
   */
  onUndelivered(id: NodeId, messages: readonly Message[]): void;
  /** A peer answered that this member was removed from the cluster (etcd's 410 Gone). */
  onRemoved?(by: NodeId): void;
}

/** What the peer listeners need to know about the membership besides the messages. */
export interface PeerMembership {
  /** Served at GET /members (etcd's peer endpoint), for members joining and for proxies. */
  members(): readonly PeerMemberJson[];
  /** Messages from a removed member are refused with 410, which tells it to stop. */
  isRemoved(id: NodeId): boolean;
}

/** One member as etcd's peer /members endpoint lists it. */
export interface PeerMemberJson {
  readonly id: string;
  readonly name: string;
  readonly peerURLs: readonly string[];
  readonly clientURLs: readonly string[];
}

export interface PeerTransportOptions {
  readonly id: NodeId;
  readonly clusterId: string;
  readonly logger: Logger;
  readonly handlers: TransportHandlers;
  /** Per batch of messages; a paused peer must not hold its stream forever. */
  readonly messageTimeoutMs: number;
  readonly snapshotTimeoutMs?: number;
  readonly membership?: PeerMembership;
}

/**
 * Raft messages over HTTP: one sender per peer (undici, batched, in order)
 * and the peer listeners. Sending never blocks and never throws: a lost
 * message is Raft's business, told through onUnreachable.
 */
export class PeerTransport {
  readonly #opts: PeerTransportOptions;
  readonly #senders = new Map<NodeId, PeerSender>();
  readonly #senderUrls = new Map<NodeId, string>();
  readonly #server: PeerServer;
  #closed = false;

  constructor(options: PeerTransportOptions) {
    this.#opts = options;
    this.#server = new PeerServer({
      clusterId: options.clusterId,
      logger: options.logger,
      ...(options.membership === undefined ? {} : { membership: options.membership }),
      onMessages: (messages, bytes) => {
        if (!this.#closed) options.handlers.onMessages(messages, bytes);
      },
    });
  }

  listen(urls: readonly string[]): Promise<string[]> {
    return this.#server.listen(urls);
  }

  /** Sets the peers to talk to (every member but this one) and their URLs; a peer whose URLs changed gets a new sender. */
  setPeers(peers: ReadonlyMap<NodeId, readonly string[]>): void {
    for (const [id, sender] of this.#senders) {
      const urls = peers.get(id);
      if (urls === undefined || urls.join(',') !== this.#senderUrls.get(id)) {
        void sender.close();
        this.#senders.delete(id);
        this.#senderUrls.delete(id);
      }
    }
    for (const [id, urls] of peers) {
      if (id === this.#opts.id || urls.length === 0 || this.#senders.has(id)) continue;
      const h = this.#opts.handlers;
      this.#senderUrls.set(id, urls.join(','));
      this.#senders.set(
        id,
        new PeerSender({
          from: this.#opts.id,
          to: id,
          urls,
          clusterId: this.#opts.clusterId,
          logger: this.#opts.logger,
          messageTimeoutMs: this.#opts.messageTimeoutMs,
          snapshotTimeoutMs: this.#opts.snapshotTimeoutMs ?? 120_000,
          onUnreachable: (to) => h.onUnreachable(to),
          onSnapshotStatus: (to, ok) => h.onSnapshotStatus(to, ok),
          onBatch: (to, ok, appends, ms) => h.onBatch(to, ok, appends, ms),
          onUndelivered: (to, messages) => h.onUndelivered(to, messages),
          onRemoved: (by) => {
            if (!this.#closed) h.onRemoved?.(by);
          },
        }),
      );
    }
  }

  send(messages: readonly Message[]): void {
    if (this.#closed) return;
    for (const m of messages) {
      const sender = this.#senders.get(m.to);
      if (sender !== undefined) {
        sender.send(m);
      } else if (m.type === 'snapshot') {
        this.#opts.handlers.onSnapshotStatus(m.to, false);
      }
    }
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await Promise.all([...this.#senders.values()].map((s) => s.close()));
    this.#senders.clear();
    this.#senderUrls.clear();
    await this.#server.close();
  }
}
