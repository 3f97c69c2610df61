import { goDuration } from '../http/go-duration.js';
import type { NodeId, Role } from '../raft/types.js';
import { goTime } from '../v2store/go-json.js';

const RATE_WINDOW = 200;
// etcd starts a follower's minimum latency at MaxInt64, and shows it until the first success.
const NO_MINIMUM = 9223372036854775807;

const STATE_NAMES: Record<Role, string> = {
  follower: 'StateFollower',
  preCandidate: 'StatePreCandidate',
  candidate: 'StateCandidate',
  leader: 'StateLeader',
};

/** The last few append requests, for etcd's package and bandwidth rates. */
class RateWindow {
  readonly #samples: { at: number; bytes: number }[] = [];

  add(bytes: number, at: number): void {
    this.#samples.push({ at, bytes });
    if (this.#samples.length > RATE_WINDOW) this.#samples.shift();
  }

  /** Requests and bytes per second over the window; zero once it is more than a second old. */
  rates(now: number): { pkg: number; bandwidth: number } {
    const front = this.#samples[0];
    const back = this.#samples[this.#samples.length - 1];
    if (front === undefined || back === undefined || now - back.at > 1000) {
      this.#samples.length = 0;
      return { pkg: 0, bandwidth: 0 };
    }
    const seconds = (back.at - front.at) / 1000;
    if (seconds <= 0) return { pkg: 0, bandwidth: 0 };
    let bytes = 0;
    for (const s of this.#samples) bytes += s.bytes;
    return { pkg: this.#samples.length / seconds, bandwidth: bytes / seconds };
  }
}

/** /v2/stats/self: this member's role, leader and append traffic, as etcd reports them. */
export class SelfStats {
  readonly #name: () => string;
  readonly #id: NodeId;
  readonly #startedAt: number;
  #leader: NodeId = '';
  #leaderSince: number;
  #role: Role = 'follower';
  #recvAppends = 0;
  #sendAppends = 0;
  readonly #recvRate = new RateWindow();
  readonly #sendRate = new RateWindow();

  constructor(id: NodeId, name: () => string, startedAt: number) {
    this.#id = id;
    this.#name = name;
    this.#startedAt = startedAt;
    this.#leaderSince = startedAt;
  }

  setSoft(leader: NodeId, role: Role, now: number): void {
    if (leader !== this.#leader) this.#leaderSince = now;
    this.#leader = leader;
    this.#role = role;
  }

  recvAppend(bytes: number, now: number): void {
    this.#recvAppends += 1;
    this.#recvRate.add(bytes, now);
  }

  sendAppend(bytes: number, now: number): void {
    this.#sendAppends += 1;
    this.#sendRate.add(bytes, now);
  }

  toJson(now: number): Record<string, unknown> {
    const out: Record<string, unknown> = {
      name: this.#name(),
      id: this.#id,
      state: STATE_NAMES[this.#role],
      startTime: goTime(this.#startedAt),
      leaderInfo: { leader: this.#leader, uptime: goDuration(now - this.#leaderSince), startTime: goTime(this.#leaderSince) },
      recvAppendRequestCnt: this.#recvAppends,
    };
    // etcd omits zero rates; a follower receives, a leader sends.
    const recv = this.#recvRate.rates(now);
    if (recv.pkg > 0) out['recvPkgRate'] = recv.pkg;
    if (recv.bandwidth > 0) out['recvBandwidthRate'] = recv.bandwidth;
    out['sendAppendRequestCnt'] = this.#sendAppends;
    const send = this.#sendRate.rates(now);
    if (send.pkg > 0) out['sendPkgRate'] = send.pkg;
    if (send.bandwidth > 0) out['sendBandwidthRate'] = send.bandwidth;
    return out;
  }
}

class FollowerStats {
  success = 0;
  fail = 0;
  current = 0;
  average = 0;
  #averageSquare = 0;
  standardDeviation = 0;
  minimum = NO_MINIMUM;
  maximum = 0;

  succ(ms: number): void {
    const total = this.success * this.average;
    const totalSquare = this.success * this.#averageSquare;
    this.success += 1;
    this.current = ms;
    if (ms > this.maximum) this.maximum = ms;
    if (ms < this.minimum) this.minimum = ms;
    this.average = (total + ms) / this.success;
    this.#averageSquare = (totalSquare + ms * ms) / this.success;
    this.standardDeviation = Math.sqrt(Math.max(0, this.#averageSquare - this.average * this.average));
  }

  toJson(): Record<string, unknown> {
    return {
      latency: {
        current: this.current,
        average: this.average,
        standardDeviation: this.standardDeviation,
        minimum: this.minimum,
        maximum: this.maximum,
      },
      counts: { fail: this.fail, success: this.success },
    };
  }
}

/** /v2/stats/leader: per follower, round-trip latency (ms) of append batches and their successes and failures. */
export class LeaderStats {
  readonly #followers = new Map<NodeId, FollowerStats>();

  reset(): void {
    this.#followers.clear();
  }

  #get(id: NodeId): FollowerStats {
    let fs = this.#followers.get(id);
    if (fs === undefined) {
      fs = new FollowerStats();
      this.#followers.set(id, fs);
    }
    return fs;
  }

  succ(id: NodeId, ms: number): void {
    this.#get(id).succ(ms);
  }

  fail(id: NodeId): void {
    this.#get(id).fail += 1;
  }

  toJson(leader: NodeId, followers: readonly NodeId[]): Record<string, unknown> {
    const out: Record<string, unknown> = {};
    for (const id of followers) out[id] = this.#get(id).toJson();
    return { leader, followers: out };
  }
}
