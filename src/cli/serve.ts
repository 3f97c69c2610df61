import { Command } from 'commander';
import { resolveServeConfig } from '../config/serve-config.js';
import { createLogger, type Logger } from '../log/logger.js';
import { MemberRemovedError } from '../replica/membership-errors.js';
import { startServing, type ServingProcess } from '../server/run-server.js';
import { errorMessage } from '../util/errors.js';

/**
 * etcd exits with status 0 when it stops because it was removed from the
 * cluster (or finds, restarted, that it was): a supervisor that restarts
 * failed units then leaves it alone.
 */
const REMOVED_EXIT_CODE = 0;

function logRemoved(logger: Logger, dataDir: string): void {
  logger.error('the member has been permanently removed from the cluster');
  logger.warn({ dataDir }, 'the data-dir used by this member must be removed');
}

export function serveCommand(): Command {
  return new Command('serve')
    .description('run a Cairn store node serving the etcd v2 API')
    .option('--name <name>', 'human-readable member name (default "default"; env CAIRN_NAME)')
    .option('--data-dir <path>', 'where the WAL and snapshots live (default "<name>.cairn"; env CAIRN_DATA_DIR)')
    .option('--listen-client-urls <urls>', 'comma-separated URLs to serve clients on (default http://127.0.0.1:2379)')
    .option('--advertise-client-urls <urls>', 'comma-separated client URLs to tell others (default: the listen URLs)')
    .option('--initial-advertise-peer-urls <urls>', "this member's peer URLs, as --initial-cluster names them (default http://localhost:2380)")
    .option('--listen-peer-urls <urls>', 'comma-separated URLs to listen on for cluster peers (default http://localhost:2380)')
    .option('--initial-cluster <members>', 'founding members as name=peer-url,…; without it (or --discovery) the node runs alone')
    .option('--initial-cluster-token <token>', 'distinguishes clusters founded from the same URLs (default etcd-cluster)')
    .option('--initial-cluster-state <state>', 'new (found the cluster) or existing (join a running one after `member add`) (default new)')
    .option('--discovery <url>', 'found the cluster through an etcd v2 discovery URL instead of --initial-cluster')
    .option('--discovery-fallback <action>', 'exit or proxy, when the discovery cluster is full already (default proxy)')
    .option('--proxy <mode>', 'off, on or readonly: forward the client API to the cluster instead of being a member (default off)')
    .option('--proxy-failure-wait <ms>', 'how long a member that failed a proxied request is left out (default 5000)')
    .option('--proxy-refresh-interval <ms>', 'how often the proxy fetches the member list again (default 30000)')
    .option('--proxy-dial-timeout <ms>', 'proxy connect timeout towards a member (default 1000)')
    .option('--proxy-read-timeout <ms>', 'proxy read timeout towards a member, 0 for none (default 0)')
    .option('--strict-reconfig-check <bool>', 'refuse membership changes that could cost the quorum (default true)')
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
      let running: ServingProcess;
      try {
        running = await startServing(config, logger);
      } catch (err) {
        if (err instanceof MemberRemovedError) {
          logRemoved(logger, config.dataDir);
          process.exit(REMOVED_EXIT_CODE);
        }
        logger.fatal({ err }, 'cannot start');
        process.exit(1);
      }
      running.onFatal((err) => {
        // A removed member has logged why (as etcd words it) when it decided to stop.
        const code = err instanceof MemberRemovedError ? REMOVED_EXIT_CODE : 1;
        void running.close().finally(() => process.exit(code));
      });
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
