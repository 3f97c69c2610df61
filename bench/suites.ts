import type { SuiteEntry } from './suite.js';

// New suites (`agent`, `cluster`) register here; `main.ts` needs no change.
export const SUITES: readonly SuiteEntry[] = [
  {
    name: 'store',
    summary: 'v2 keys API: PUT and GET throughput (64 connections), watch delivery latency (100 watchers)',
    load: async () => (await import('./store.js')).storeSuite,
  },
];
