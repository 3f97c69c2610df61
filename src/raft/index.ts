// Public surface of the Raft core for drivers (replica/) and tests.
export { RaftCore } from './core.js';
export type { RaftConfig } from './core.js';
export type { LogReader } from './log-reader.js';
export { entrySize } from './log-reader.js';
export { MemoryStorage } from './memory-storage.js';
export { decodeConfChange, encodeConfChange, isNodeId, applyToVoters } from './conf-change.js';
export * from './errors.js';
export * from './types.js';
