import { Command } from 'commander';
import { resolveAgentConfig, type AgentConfig } from '../config/agent-config.js';
import { createLogger, type Logger } from '../log/logger.js';
import { errorMessage } from '../util/errors.js';
import type { ResourceResult } from '../agent/runner.js';

/** Exit statuses of `cairn agent`, documented in the README. */
export const EXIT = { ok: 0, resourceFailed: 1, badConfig: 2, backendUnavailable: 3 } as const;

function collect(value: string, previous: string[] | undefined): string[] {
  return [...(previous ?? []), ...value.split(',')];
}

export function agentCommand(): Command {
  return new Command('agent')
    .description('render config files from keys with Handlebars templates and reload the programs that read them (confd-compatible)')
    .option('--confdir <dir>', 'holds conf.d/*.toml and templates/ (default /etc/cairn)')
    .option('--config-file <path>', 'TOML file with the same settings (confd.toml keys)')
    .option('--backend <name>', 'embedded (default), etcd (v2 API), etcdv3, file or env')
    .option('--node <url>', 'etcd endpoint (v2 or v3 client URL); repeat or comma-separate for several', collect)
    .option('--endpoints <urls>', 'alias of --node', collect)
    .option('--prefix <prefix>', 'prepended to every resource prefix')
    .option('--onetime', 'render once and exit: 0 when every resource is fine')
    .option('--interval <seconds>', 'poll every N seconds (default 600 without --watch); with --watch, reconcile every N seconds')
    .option('--watch', 'watch the keys and render on every change')
    .option('--wait <min[:max]>', 'wait for the keys to be quiet for MIN (at most MAX) before rendering, like consul-template')
    .option('--noop', 'print a diff of what would change and write nothing')
    .option('--sync-only', 'write files but run neither check_cmd nor reload_cmd')
    .option('--keep-stage-file', 'keep stage files that failed their check')
    .option('--log-level <level>', 'trace|debug|info|warn|error|fatal|silent (default info)')
    .option('--file <path>', 'YAML/JSON data file for the file backend; repeatable', collect)
    .option('--client-cert <path>', 'client certificate for the etcd/etcdv3 backend (PEM)')
    .option('--client-key <path>', 'client key for the etcd/etcdv3 backend (PEM)')
    .option('--client-ca-keys <path>', 'CA certificates for the etcd/etcdv3 backend (PEM)')
    .option('--username <name>', 'user for the etcd/etcdv3 backend (etcdv3: etcd v3 auth)')
    .option('--password <password>', 'password for the etcd/etcdv3 backend')
    .option('--name <name>', 'embedded store: member name')
    .option('--data-dir <path>', 'embedded store: where the WAL and snapshots live')
    .option('--listen-client-urls <urls>', 'embedded store: URLs to serve the etcd v2 API on (default http://127.0.0.1:2379)')
    .option('--advertise-client-urls <urls>', 'embedded store: client URLs to tell others')
    .option('--snapshot-count <n>', 'embedded store: applied entries between snapshots')
    .option('--listen-peer-urls <urls>', 'embedded store in a cluster: URLs for Raft traffic')
    .option('--initial-advertise-peer-urls <urls>', 'embedded store in a cluster: this member\'s peer URLs')
    .option('--initial-cluster <members>', 'embedded store in a cluster: name=peer-url,… of every founding member')
    .option('--initial-cluster-token <token>', 'embedded store in a cluster: keeps clusters apart')
    .option('--initial-cluster-state <state>', 'embedded store in a cluster: new or existing')
    .option('--heartbeat-interval <ms>', 'embedded store in a cluster: ms between heartbeats')
    .option('--election-timeout <ms>', 'embedded store in a cluster: ms before an election')
    .action(async (flags: Record<string, unknown>) => {
      let config: AgentConfig;
      try {
        config = resolveAgentConfig(flags);
      } catch (err) {
        process.stderr.write(`cairn agent: ${errorMessage(err)}\n`);
        process.exit(EXIT.badConfig);
      }
      const logger = createLogger({ level: config.logLevel as 'info', name: 'cairn-agent' });
      process.exitCode = await runAgent(config, logger);
      // Sockets of a closed store or client must not hold a finished onetime run open.
      if (config.mode.kind === 'onetime') process.exit(process.exitCode);
    });
}

function summarize(results: readonly ResourceResult[]): string {
  const count = (status: ResourceResult['status']): number => results.filter((r) => r.status === status).length;
  const parts = [`${count('updated')} updated`, `${count('unchanged')} unchanged`];
  if (count('wouldChange') > 0) parts.push(`${count('wouldChange')} would change`);
  parts.push(`${count('failed')} failed`);
  const lines = [`cairn agent: ${results.length} resource${results.length === 1 ? '' : 's'}: ${parts.join(', ')}`];
  for (const r of results) {
    if (r.status !== 'failed') continue;
    const message = r.message ?? 'failed';
    const where = message.includes(r.file) ? '' : ` (${r.file})`;
    lines.push(`  FAILED ${r.name}${where} at ${r.stage ?? 'unknown'}: ${message.replace(/\n/g, '\n    ')}`);
  }
  return `${lines.join('\n')}\n`;
}

async function runAgent(config: AgentConfig, logger: Logger): Promise<number> {
  const [{ openBackend }, { ResourceCatalog }, { AgentRunner }, { ConfDirError }] = await Promise.all([
    import('../agent/backend/create-backend.js'),
    import('../agent/resource-catalog.js'),
    import('../agent/runner.js'),
    import('../agent/resource-errors.js'),
  ]);
  let opened;
  try {
    opened = await openBackend(config, logger);
  } catch (err) {
    logger.fatal({ err: errorMessage(err) }, 'cannot open the backend');
    return EXIT.badConfig;
  }
  const catalog = new ResourceCatalog(config.confdir, config.prefix, logger);
  const runner = new AgentRunner({
    backend: opened.backend,
    catalog,
    logger,
    noop: config.noop,
    syncOnly: config.syncOnly,
    keepStageFile: config.keepStageFile,
    env: process.env,
    print: (text) => process.stdout.write(text.endsWith('\n') ? text : `${text}\n`),
    wait: config.wait,
    intervalMs: config.mode.kind === 'onetime' ? undefined : config.mode.kind === 'interval' ? config.mode.intervalMs : config.mode.reconcileMs,
  });

  if (config.mode.kind === 'onetime') {
    try {
      const results = await runner.runOnce();
      const failed = results.filter((r) => r.status === 'failed');
      if (failed.length > 0 || results.length === 0) process.stderr.write(summarize(results));
      else logger.info({ resources: results.length }, summarize(results).trim());
      if (failed.length === 0) return EXIT.ok;
      return failed.every((r) => r.stage === 'backend') ? EXIT.backendUnavailable : EXIT.resourceFailed;
    } catch (err) {
      process.stderr.write(`cairn agent: ${errorMessage(err)}\n`);
      return err instanceof ConfDirError ? EXIT.badConfig : EXIT.resourceFailed;
    } finally {
      await opened.close();
    }
  }

  const { watchConfdir } = await import('../agent/config-watch.js');
  const stop = new AbortController();
  const reload = (): void => {
    void runner.reloadConfig();
  };
  const confWatch = watchConfdir(config.confdir, logger, reload);
  const onHup = (): void => {
    logger.info('SIGHUP: reloading template resources');
    reload();
  };
  process.on('SIGHUP', onHup);
  const shutdown = (signal: string): void => {
    logger.info({ signal }, 'shutting down');
    stop.abort();
  };
  process.once('SIGTERM', () => shutdown('SIGTERM'));
  process.once('SIGINT', () => shutdown('SIGINT'));
  if (opened.storeUrls.length > 0) logger.info({ urls: opened.storeUrls }, 'embedded store serving the etcd v2 API');
  try {
    if (config.mode.kind === 'watch') await runner.runWatch(stop.signal);
    else await runner.runInterval(stop.signal);
  } catch (err) {
    logger.fatal({ err: errorMessage(err) }, 'agent stopped');
    return err instanceof ConfDirError ? EXIT.badConfig : EXIT.resourceFailed;
  } finally {
    process.off('SIGHUP', onHup);
    await confWatch.close();
    await opened.close();
  }
  return EXIT.ok;
}
