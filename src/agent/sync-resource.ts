import { expandCommand } from './command-template.js';
import { renderWithLookups } from './dns-lookups.js';
import { resolveId } from './effects/owners.js';
import { commandSucceeded, describeResult, runShellCommand } from './effects/run-command.js';
import { commitStageFile, destDiffers, discardStageFile, readDest, writeStageFile, type FileAttributes } from './effects/staged-file.js';
import { unifiedDiff } from './effects/unified-diff.js';
import type { Logger } from '../log/logger.js';
import { resolveMode } from './resource.js';
import type { ResourceEntry } from './resource-entry.js';

/** A hung check or reload command is killed after this long unless the resource says otherwise. */
export const DEFAULT_COMMAND_TIMEOUT_MS = 60_000;

export type FailedStage = 'render' | 'check' | 'write';

export type SyncOutcome =
  | { readonly status: 'unchanged' }
  /** Written; `reload` is the expanded reload command still to run, if any. */
  | { readonly status: 'updated'; readonly reload: string | undefined }
  /** --noop: dest differs; the diff was printed and nothing written. */
  | { readonly status: 'wouldChange' }
  | { readonly status: 'failed'; readonly stage: FailedStage; readonly message: string };

export interface SyncOptions {
  readonly logger: Logger;
  readonly noop: boolean;
  readonly syncOnly: boolean;
  readonly keepStageFile: boolean;
  readonly env: Readonly<Record<string, string | undefined>>;
  /** Where --noop diffs go. */
  readonly print: (text: string) => void;
  /** Keys whose changes led to this sync, for --noop's report. */
  readonly changedKeys?: readonly string[];
}

async function desiredAttributes(entry: ResourceEntry, existingMode: number | undefined): Promise<FileAttributes> {
  const { spec } = entry;
  const uid = spec.uid ?? (spec.owner === undefined ? undefined : await resolveId('user', spec.owner));
  const gid = spec.gid ?? (spec.group === undefined ? undefined : await resolveId('group', spec.group));
  return { mode: resolveMode(spec.mode, existingMode), uid, gid };
}

/**
 * One resource through the write path: render, compare with dest, stage
 * beside dest, check, rename into place. Dest changes only through the final
 * rename, so a failure at any step leaves the live file as it was. The reload
 * command is returned rather than run so that a batch runs each one once.
 */
export async function syncResource(entry: ResourceEntry, pairs: ReadonlyMap<string, string>, options: SyncOptions): Promise<SyncOutcome> {
  const { spec } = entry;
  const log = options.logger.child({ resource: spec.name, dest: spec.dest });
  let output: string;
  try {
    output = await renderWithLookups(entry.renderer, spec, { prefix: spec.prefix, pairs, env: options.env }, {
      onError: (req, err) => log.warn({ lookup: req, err: (err as Error).message }, 'DNS lookup failed; rendering it as empty'),
    });
  } catch (err) {
    return { status: 'failed', stage: 'render', message: (err as Error).message };
  }
  const content = Buffer.from(output, 'utf8');
  let current;
  let attrs: FileAttributes;
  try {
    current = await readDest(spec.dest);
    attrs = await desiredAttributes(entry, current.mode);
  } catch (err) {
    return { status: 'failed', stage: 'write', message: (err as Error).message };
  }
  if (!destDiffers(current, content, attrs)) return { status: 'unchanged' };

  if (options.noop) {
    const keys = options.changedKeys === undefined || options.changedKeys.length === 0 ? spec.backendKeys : options.changedKeys;
    const header = `# ${spec.name}: ${spec.dest} would change (keys: ${keys.join(', ')})` +
      (current.mode !== undefined && current.mode !== attrs.mode ? `; mode ${current.mode.toString(8)} -> ${attrs.mode.toString(8)}` : '');
    options.print(`${header}\n${unifiedDiff(spec.dest, current.content?.toString('utf8'), output, `(rendered from ${spec.src})`)}`);
    return { status: 'wouldChange' };
  }

  let staged: string;
  try {
    staged = await writeStageFile(spec.dest, content, attrs);
  } catch (err) {
    return { status: 'failed', stage: 'write', message: `cannot write the stage file beside ${spec.dest}: ${(err as Error).message}` };
  }
  const paths = { src: staged, dest: spec.dest };
  if (spec.checkCmd !== undefined && !options.syncOnly) {
    const command = expandCommand(spec.checkCmd, paths);
    const timeoutMs = spec.checkTimeoutMs ?? DEFAULT_COMMAND_TIMEOUT_MS;
    const result = await runShellCommand(command, { timeoutMs });
    if (!commandSucceeded(result)) {
      if (options.keepStageFile) log.info({ staged }, 'keeping the stage file that failed its check');
      else await discardStageFile(staged);
      return {
        status: 'failed',
        stage: 'check',
        message: `check_cmd failed (${describeResult(result, timeoutMs)}): ${command}${result.output.trim() === '' ? '' : `\n${result.output.trimEnd()}`}`,
      };
    }
  }
  try {
    await commitStageFile(staged, spec.dest);
  } catch (err) {
    await discardStageFile(staged);
    return { status: 'failed', stage: 'write', message: `cannot move the new file into place: ${(err as Error).message}` };
  }
  log.info({ bytes: content.length }, 'config file updated');
  const reload = spec.reloadCmd === undefined || options.syncOnly ? undefined : expandCommand(spec.reloadCmd, { src: spec.dest, dest: spec.dest });
  return { status: 'updated', reload };
}

export interface ReloadFailure {
  readonly command: string;
  readonly message: string;
}

/** Runs each distinct reload command once, in order; returns the ones that failed. */
export async function runReloads(
  reloads: readonly { command: string; timeoutMs: number; resources: readonly string[] }[],
  logger: Logger,
): Promise<ReloadFailure[]> {
  const failures: ReloadFailure[] = [];
  for (const reload of reloads) {
    const result = await runShellCommand(reload.command, { timeoutMs: reload.timeoutMs });
    if (commandSucceeded(result)) {
      logger.info({ command: reload.command, resources: reload.resources }, 'reloaded');
    } else {
      const message = `reload_cmd failed (${describeResult(result, reload.timeoutMs)})${result.output.trim() === '' ? '' : `: ${result.output.trimEnd()}`}`;
      logger.error({ command: reload.command, resources: reload.resources, output: result.output }, message);
      failures.push({ command: reload.command, message });
    }
  }
  return failures;
}
