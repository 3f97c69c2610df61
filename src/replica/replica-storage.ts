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
}

export interface OpenStorageOptions {
  readonly dataDir: string;
  readonly logger: Logger;
  /** Identity to write when the data dir is new. */
  readonly identity: MemberIdentity;
  readonly voters: readonly NodeId[];
  readonly initialClusterState: 'new' | 'existing';
  /** The empty state machine image of a new cluster. */
  genesis(): Uint8Array;
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
 * Opens (or founds) a cluster member's durable state. A founding member
 * writes the genesis snapshot (index 1, the founding voters), then its
 * identity, the snapshot marker and a hard state into the WAL. A restart
 * loads the newest snapshot and the WAL after it.
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
      if (options.initialClusterState === 'existing') {
        throw new DataDirError(
          'CAIRN_CLUSTER_JOIN_UNSUPPORTED',
          `${dataDir} is empty and --initial-cluster-state is existing: joining a running cluster needs runtime membership changes, which are not supported yet`,
        );
      }
      return await bootstrap(options, wal, snapshotter);
    }
    return await restart(options, wal, snapshotter, state);
  } catch (err) {
    await wal.close().catch(() => undefined);
    throw err;
  }
}

async function bootstrap(options: OpenStorageOptions, wal: Wal, snapshotter: Snapshotter): Promise<OpenedStorage> {
  const voters = [...options.voters].sort();
  const snapshot: RaftSnapshot = { index: 1, term: 1, voters, data: options.genesis() };
  const hardState: HardState = { term: 1, vote: '', commit: 1 };
  // The snapshot file first: the WAL marker must never name a snapshot a crash could lose.
  await snapshotter.save(snapshot);
  const metadata = Buffer.from(JSON.stringify({ kind: METADATA_KIND, ...options.identity }));
  await Promise.all([
    wal.saveMetadata(metadata),
    wal.saveSnapshotMarker({ index: 1, term: 1, voters }),
    wal.append([], hardState),
  ]);
  await writeFileAtomic(join(options.dataDir, 'member', CLUSTER_MARKER_FILE), Buffer.from(`${JSON.stringify(options.identity)}\n`));
  const memory = new MemoryStorage(snapshot);
  memory.setHardState(hardState);
  options.logger.info({ id: options.identity.memberId, cluster: options.identity.clusterId, voters }, 'founded a new cluster member');
  return { identity: options.identity, wal, snapshotter, memory, snapshot, bootstrapped: true };
}

async function restart(
  options: OpenStorageOptions,
  wal: Wal,
  snapshotter: Snapshotter,
  state: Awaited<ReturnType<typeof Wal.open>>['state'],
): Promise<OpenedStorage> {
  const identity = parseIdentity(state.metadata as Uint8Array);
  if (identity.memberId !== options.identity.memberId) {
    // As etcd does: once a member exists, its data dir says who it is, not the flags.
    options.logger.warn(
      { stored: identity.memberId, flags: options.identity.memberId },
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
  let parsed: { kind?: unknown; memberId?: unknown; clusterId?: unknown; name?: unknown };
  try {
    parsed = JSON.parse(Buffer.from(data).toString('utf8')) as typeof parsed;
  } catch {
    parsed = {};
  }
  if (parsed.kind !== METADATA_KIND || typeof parsed.memberId !== 'string' || typeof parsed.clusterId !== 'string') {
    throw new DataDirError('CAIRN_DATA_DIR_FOREIGN', 'the WAL metadata does not describe a Cairn cluster member');
  }
  return { memberId: parsed.memberId, clusterId: parsed.clusterId, name: typeof parsed.name === 'string' ? parsed.name : '' };
}
