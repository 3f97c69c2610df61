import { Command } from 'commander';
import { resolveServeConfig } from '../config/serve-config.js';
import { createLogger } from '../log/logger.js';
import { startServer } from '../server/run-server.js';
import { errorMessage } from '../util/errors.js';

export function serveCommand(): Command {
  return new Command('serve')
    .description('run a Cairn store node serving the etcd v2 API')
    .option('--name <name>', 'human-readable member name (default "default"; env CAIRN_NAME)')
    .option('--data-dir <path>', 'where the WAL and snapshots live (default "<name>.cairn"; env CAIRN_DATA_DIR)')
    .option('--listen-client-urls <urls>', 'comma-separated URLs to serve clients on (default http://127.0.0.1:2379)')
    .option('--advertise-client-urls <urls>', 'comma-separated client URLs to tell others (default: the listen URLs)')
    .option('--initial-advertise-peer-urls <urls>', "this member's peer URLs, as --initial-cluster names them (default http://localhost:2380)")
    .option('--listen-peer-urls <urls>', 'comma-separated URLs to listen on for cluster peers (default http://localhost:2380)')
    .option('--initial-cluster <members>', 'founding members as name=peer-url,…; without it the node runs alone')
    .option('--initial-cluster-token <token>', 'distinguishes clusters founded from the same URLs (default etcd-cluster)')
    .option('--initial-cluster-state <state>', 'new (found the cluster) or existing (default new)')
    .option('--heartbeat-interval <ms>', 'Raft tick and leader heartbeat interval (default 100)')
    .option('--election-timeout <ms>', 'time without a leader before an election (default 1000)')
    .option('--snapshot-count <n>', 'applied entries between snapshots (default 10000)')
    .option('--log-level <level>', 'trace|debug|info|warn|error|fatal|silent (default info)')
    .option('--config-file <path>', 'YAML file with the same settings, named like the flags')
    .action(async (flags: Record<string, unknown>) => {
      let config;
      try {
        config = resolveServeConfig(flags);
      } catch (err) {
        process.stderr.write(`cairn serve: ${errorMessage(err)}\n`);
        process.exit(2);
      }
      const logger = createLogger({ level: config.logLevel as 'info', name: 'cairn' });
      let running;
      try {
        running = await startServer(config, logger);
      } catch (err) {
        logger.fatal({ err }, 'cannot start');
        process.exit(1);
      }
      running.node.onFatal = () => {
        void running.close().finally(() => process.exit(1));
      };
      const shutdown = (signal: string): void => {
        logger.info({ signal }, 'shutting down');
        void running.close().then(
          () => process.exit(0),
          (err: unknown) => {
            logger.error({ err }, 'shutdown failed');
            process.exit(1);
          },
        );
      };
      process.once('SIGTERM', () => shutdown('SIGTERM'));
      process.once('SIGINT', () => shutdown('SIGINT'));
    });
}
