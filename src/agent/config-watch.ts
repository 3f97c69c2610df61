import { join } from 'node:path';
import { watch as chokidarWatch, type FSWatcher } from 'chokidar';
import type { Logger } from '../log/logger.js';

/** Edits usually come as several events (editor swap files, rename dances); one reload covers them. */
const SETTLE_MS = 200;

/**
 * Watches conf.d/ and templates/ and calls `reload` once things settle, so a
 * resource or template edit is picked up without a restart.
 */
export function watchConfdir(confdir: string, logger: Logger, reload: () => void): { close(): Promise<void> } {
  const watcher: FSWatcher = chokidarWatch([join(confdir, 'conf.d'), join(confdir, 'templates')], {
    ignoreInitial: true,
    ignored: (path) => /(^|\/)\.[^/]+$/.test(path) && !path.endsWith(confdir),
  });
  let timer: NodeJS.Timeout | undefined;
  const schedule = (): void => {
    if (timer !== undefined) clearTimeout(timer);
    timer = setTimeout(() => {
      timer = undefined;
      logger.info('configuration directory changed; reloading template resources');
      reload();
    }, SETTLE_MS);
  };
  watcher.on('all', schedule);
  watcher.on('error', (err) => logger.warn({ err }, 'watching the configuration directory failed'));
  return {
    async close() {
      if (timer !== undefined) clearTimeout(timer);
      await watcher.close();
    },
  };
}
