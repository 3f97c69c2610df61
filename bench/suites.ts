import type { SuiteEntry } from './suite.js';

// New suites (`cluster`) register here; `main.ts` needs no change.
export const SUITES: readonly SuiteEntry[] = [
  {
    name: 'store',
    summary: 'v2 keys API: PUT and GET throughput (64 connections), watch delivery latency (100 watchers)',
    load: async () => (await import('./store.js')).storeSuite,
  },
  {
    name: 'agent',
    summary: 'PUT-to-rendered-file latency in watch mode (embedded, via cairn serve, via etcd); --onetime wall time, 50 templates over 10k keys',
    load: async () => (await import('./agent.js')).agentSuite,
  },
  {
    name: 'cluster',
    summary: '3-member clusters: PUT throughput (64 connections) via the leader and via a follower; leader failover time after kill -9',
    load: async () => (await import('./cluster.js')).clusterSuite,
  },
];
