import { Command } from 'commander';
import { createLogger } from '../log/logger.js';
import { resolveRegisterConfig } from '../register/register-config.js';
import { registerService } from '../register/register-service.js';
import { errorMessage } from '../util/errors.js';

export function registerCommand(): Command {
  return new Command('register')
    .description('keep a key with a TTL in the store while this process runs (and, with --check, while a health command passes)')
    .option('--endpoints <urls>', 'comma-separated store URLs, tried in turn (default http://127.0.0.1:2379; env CAIRN_ENDPOINTS)')
    .option('--key <key>', 'the key to register, e.g. /services/web/host1 (env CAIRN_KEY)')
    .option('--value <value>', 'its value, e.g. 10.0.0.5:8080 (env CAIRN_VALUE)')
    .option('--ttl <seconds>', 'time to live (the lease TTL with etcdv3); refreshed every ttl/3 (default 30; env CAIRN_TTL)')
    .option('--check <command>', 'health command run with /bin/sh -c; the key exists only while it exits 0 (env CAIRN_CHECK)')
    .option('--check-interval <seconds>', 'time between checks, seconds or a duration like 500ms (default ttl/3, at most 10 s)')
    .option('--check-timeout <seconds>', 'a check running longer is killed and counts as failed (default: the interval, at least 5 s)')
    .option('--backend <name>', 'store API: etcd (the v2 keys API of Cairn or etcd --enable-v2, default) or etcdv3 (etcd v3: a key on a lease kept alive)')
    .option('--cert-file <path>', 'TLS client certificate')
    .option('--key-file <path>', 'TLS client key')
    .option('--ca-file <path>', 'TLS CA bundle to verify the store')
    .option('--username <user[:password]>', 'user for basic authentication (etcdv3: etcd v3 auth)')
    .option('--password <password>', 'password for that user (env CAIRN_PASSWORD)')
    .option('--log-level <level>', 'trace|debug|info|warn|error|fatal|silent (default info)')
    .action(async (flags: Record<string, unknown>) => {
      let config;
      try {
        config = resolveRegisterConfig(flags);
      } catch (err) {
        process.stderr.write(`cairn register: ${errorMessage(err)}\n`);
        process.exit(2);
      }
      const logger = createLogger({ level: config.logLevel as 'info', name: 'cairn' }).child({ key: config.key });
      const stop = new AbortController();
      const onSignal = (signal: NodeJS.Signals): void => {
        if (stop.signal.aborted) {
          // A second signal means "now": the key still expires with its TTL.
          logger.warn({ signal }, 'exiting without removing the key');
          process.exit(1);
        }
        logger.info({ signal }, 'removing the key and exiting');
        stop.abort();
      };
      process.on('SIGTERM', onSignal);
      process.on('SIGINT', onSignal);
      logger.info({ value: config.value, ttl: config.ttlSeconds, endpoints: config.endpoints, check: config.check?.command }, 'starting');
      try {
        await registerService(config, logger, stop.signal);
      } catch (err) {
        logger.fatal({ err }, 'registration failed');
        process.exit(1);
      }
      // Exit 0 on a requested stop even if removal gave up: the TTL removes the key, and a unit should not show as failed.
      process.exit(0);
    });
}
