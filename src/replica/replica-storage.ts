import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { Logger } from '../log/logger.js';
import { MemoryStorage } from '../raft/memory-storage.js';
import type { Entry, HardState, NodeId, RaftSnapshot } from '../raft/types.js';
import { writeFileAtomic } from '../storage/fsutil.js';
import { Snapshotter } from '../storage/snapshotter.js';
import { Wal } from '../storage/wal.js';
import { CairnError } from '../util/errors.js';

/** Who this member is; the WAL's metadata record, written once at bootstrap. */
export interface MemberIdentity {
  readonly memberId: NodeId;
  readonly clusterId: string;
  readonly name: string;
  /** Admitted at runtime (its id came from the cluster, not from the flags). */
  readonly joined?: boolean;
}

/** How a member with an empty data dir starts out. */
export interface Founding {
  readonly identity: MemberIdentity;
  /**
   * The first snapshot: index 1 with the founding voters for a member of a
   * new cluster; index 0 with no voters for a member joining a running one,
   * which learns log and membership from the leader's snapshot.
   */
  readonly snapshot: RaftSnapshot;
}

export interface OpenStorageOptions {
  readonly dataDir: string;
  readonly logger: Logger;
  /** Called only when the data dir holds no member yet (may ask a discovery service or the cluster). */
  found(): Promise<Founding>;
  /** The id the flags give this member, to warn when a restarted data dir says otherwise. */
  readonly flagsMemberId?: NodeId;
}

export interface OpenedStorage {
  readonly identity: MemberIdentity;
  readonly wal: Wal;
  readonly snapshotter: Snapshotter;
  /** What the Raft core reads: the snapshot, the log after it, the hard state. */
  readonly memory: MemoryStorage;
  readonly snapshot: RaftSnapshot;
  readonly bootstrapped: boolean;
}

export class DataDirError extends CairnError {
  constructor(code: string, message: string) {
    super(code, message);
  }
}

const METADATA_KIND = 'cairn-cluster-member';
/** Written next to member/ so that a single-node start refuses a cluster member's data dir. */
export const CLUSTER_MARKER_FILE = 'cluster.json';

/**
 * Opens (or founds) a cluster member's durable state. A member with an
 * empty data dir writes its first snapshot (a founder's genesis at index 1
 * with the founding voters; a joining member's empty one at index 0), then
 * its identity, the snapshot marker and a hard state into the WAL. A
 * restart loads the newest snapshot and the WAL after it.
 */
export async function openReplicaStorage(options: OpenStorageOptions): Promise<OpenedStorage> {
  const { dataDir, logger } = options;
  const memberDir = join(dataDir, 'member');
  await mkdir(memberDir, { recursive: true });
  const snapshotter = new Snapshotter(join(memberDir, 'snap'), logger);
  const { wal, state } = await Wal.open(join(memberDir, 'wal'), { logger });
  try {
    if (state.metadata === undefined) {
      if (state.entries.length > 0 || state.snapshot.index > 0) {
        throw new DataDirError(
          'CAIRN_DATA_DIR_SINGLE_NODE',
          `${dataDir} holds a single-node store; a cluster member needs a data dir of its own`,
        );
      }
      return await bootstrap(options, await options.found(), wal, snapshotter);
    }
    return await restart(options, wal, snapshotter, state);
  } catch (err) {
    await wal.close().catch(() => undefined);
    throw err;
  }
}

async function bootstrap(options: OpenStorageOptions, founding: Founding, wal: Wal, snapshotter: Snapshotter): Promise<OpenedStorage> {
  const { identity, snapshot } = founding;
  const hardState: HardState = { term: snapshot.term, vote: '', commit: snapshot.index };
  // The snapshot file first: the WAL marker must never name a snapshot a crash could lose.
  await snapshotter.save(snapshot);
  const metadata = Buffer.from(JSON.stringify({ kind: METADATA_KIND, ...identity }));
  await Promise.all([
    wal.saveMetadata(metadata),
    ...(snapshot.index > 0 ? [wal.saveSnapshotMarker({ index: snapshot.index, term: snapshot.term, voters: snapshot.voters })] : []),
    wal.append([], hardState),
  ]);
  await writeFileAtomic(join(options.dataDir, 'member', CLUSTER_MARKER_FILE), Buffer.from(`${JSON.stringify(identity)}\n`));
  const memory = new MemoryStorage(snapshot);
  memory.setHardState(hardState);
  options.logger.info(
    { id: identity.memberId, cluster: identity.clusterId, voters: snapshot.voters },
    identity.joined === true ? 'set up a member to join a running cluster' : 'founded a new cluster member',
  );
  return { identity, wal, snapshotter, memory, snapshot, bootstrapped: true };
}

async function restart(
  options: OpenStorageOptions,
  wal: Wal,
  snapshotter: Snapshotter,
  state: Awaited<ReturnType<typeof Wal.open>>['state'],
): Promise<OpenedStorage> {
  const identity = parseIdentity(state.metadata as Uint8Array);
  if (identity.joined !== true && options.flagsMemberId !== undefined && identity.memberId !== options.flagsMemberId) {
    // As etcd does: once a member exists, its data dir says who it is, not the flags.
    options.logger.warn(
      { stored: identity.memberId, flags: options.flagsMemberId },
      'the data dir belongs to another member id than the cluster flags give; keeping the stored identity',
    );
  }
  const file = await snapshotter.loadNewest();
  if (file === undefined || file.voters === undefined) {
    throw new DataDirError('CAIRN_SNAPSHOT_MISSING', `no readable cluster snapshot in ${options.dataDir}; the WAL cannot be used alone`);
  }
  if (file.index < state.snapshot.index) {
    throw new DataDirError(
      'CAIRN_SNAPSHOT_MISSING',
      `the WAL expects a snapshot at index ${state.snapshot.index} but the newest readable snapshot is at ${file.index}`,
    );
  }
  const snapshot: RaftSnapshot = { index: file.index, term: file.term, voters: file.voters, data: file.data };
  const memory = new MemoryStorage(snapshot);
  const entries: Entry[] = [];
  for (const e of state.entries) {
    if (e.index <= snapshot.index) continue;
    const expected = snapshot.index + 1 + entries.length;
    if (e.index !== expected) {
      throw new DataDirError('CAIRN_WAL_GAP', `WAL entry ${e.index} follows ${expected - 1}: entries are missing`);
    }
    entries.push({ index: e.index, term: e.term, kind: e.kind ?? 'normal', data: e.data });
  }
  memory.append(entries);
  let hardState = state.hardState;
  if (hardState.term < snapshot.term) {
    // A leader's snapshot was saved but the WAL write of its term was not: nothing was promised in that term yet.
    hardState = { term: snapshot.term, vote: '', commit: snapshot.index };
  }
  const commit = Math.min(Math.max(hardState.commit, snapshot.index), memory.lastIndex());
  memory.setHardState({ ...hardState, commit });
  if (file.index > state.snapshot.index) {
    // Saved right before a crash took the marker with it: anchor the WAL there now,
    // so that new entries after the snapshot do not look like a gap.
    await wal.saveSnapshotMarker({ index: file.index, term: file.term, voters: file.voters });
  }
  options.logger.info(
    { id: identity.memberId, snapshotIndex: snapshot.index, entries: entries.length, term: hardState.term, commit, repairedBytes: state.repairedBytes },
    'cluster member restored',
  );
  return { identity, wal, snapshotter, memory, snapshot, bootstrapped: false };
}

function parseIdentity(data: Uint8Array): MemberIdentity {
  let parsed: { kind?: unknown; memberId?: unknown; clusterId?: unknown; name?: unknown; joined?: unknown };
  try {
    parsed = JSON.parse(Buffer.from(data).toString('utf8')) as typeof parsed;
  } catch {
    parsed = {};
  }
  if (parsed.kind !== METADATA_KIND || typeof parsed.memberId !== 'string' || typeof parsed.clusterId !== 'string') {
    throw new DataDirError('CAIRN_DATA_DIR_FOREIGN', 'the WAL metadata does not describe a Cairn cluster member');
  }
  return {
    memberId: parsed.memberId,
    clusterId: parsed.clusterId,
    name: typeof parsed.name === 'string' ? parsed.name : '',
    ...(parsed.joined === true ? { joined: true } : {}),
  };
}
