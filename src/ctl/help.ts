import { COMMANDS, GLOBAL_FLAGS, HELP_FLAG, type CommandSpec } from './cli-spec.js';
import type { FlagSpec } from './go-flag-set.js';

/**
 * Help screens laid out as urfave/cli 1.x lays out etcdctl's (same sections,
 * same column alignment), with "cairn ctl" as the program name.
 */

export const PROGRAM = 'cairn ctl';
const APP_USAGE = 'etcdctl-compatible command line client for the etcd v2 API (Cairn or etcd).';

/** Go's tabwriter with padding 2 over blocks of consecutive lines that contain a tab. */
function alignColumns(text: string): string {
  const lines = text.split('\n');
  const out: string[] = [];
  let block: string[][] = [];
  const flush = (): void => {
    if (block.length === 0) return;
    const width = Math.max(...block.map((cells) => (cells[0] as string).length)) + 2;
    for (const cells of block) out.push((cells[0] as string).padEnd(width) + cells.slice(1).join('\t'));
    block = [];
  };
  for (const line of lines) {
    if (line.includes('\t')) block.push(line.split('\t'));
    else {
      flush();
      out.push(line);
    }
  }
  flush();
  return out.join('\n');
}

/** One flag as urfave/cli prints it: "--name value, -n value\tusage (default: x)". */
export function describeFlag(flag: FlagSpec): string {
  let usage = flag.usage;
  let placeholder = flag.placeholder ?? 'value';
  if (flag.placeholder !== undefined) usage = usage.replace(`\`${flag.placeholder}\``, flag.placeholder);
  if (flag.kind === 'bool') placeholder = '';
  const names = flag.names
    .map((n) => `${n.length === 1 ? '-' : '--'}${n}${placeholder === '' ? '' : ` ${placeholder}`}`)
    .join(', ');
  const dflt = flag.defaultText === undefined ? '' : ` (default: ${flag.defaultText})`;
  return `${names}\t${usage}${dflt}`;
}

export function appHelp(version: string): string {
  const commands = [...COMMANDS.map((c) => `   ${c.name}\t${c.usage}`), '   help, h\tShows a list of commands or help for one command'];
  const text = [
    'NAME:',
    `   ${PROGRAM} - ${APP_USAGE}`,
    '',
    'USAGE:',
    `   ${PROGRAM} [global options] command [command options] [arguments...]`,
    '',
    'VERSION:',
    `   ${version}`,
    '',
    'COMMANDS:',
    ...commands,
    '',
    'GLOBAL OPTIONS:',
    ...GLOBAL_FLAGS.map((f) => `   ${describeFlag(f)}`),
    '',
  ].join('\n');
  return alignColumns(text);
}

/** Help for one command; `parent` is "member" for member's subcommands. */
export function commandHelp(command: CommandSpec, parent?: string): string {
  const helpName = `${PROGRAM} ${parent === undefined ? '' : `${parent} `}${command.name}`;
  const hasFlags = command.flags.length > 0;
  const args = command.argsUsage ?? '[arguments...]';
  const lines = ['NAME:', `   ${helpName} - ${command.usage}`, '', 'USAGE:', `   ${helpName}${hasFlags ? ' [command options]' : ''} ${args}`];
  if (command.description !== undefined) lines.push('', 'DESCRIPTION:', `   ${command.description}`);
  if (hasFlags) {
    lines.push('', 'OPTIONS:', ...command.flags.map((f) => `   ${describeFlag(f)}`), '   ');
  }
  return `${alignColumns(lines.join('\n'))}\n`;
}

/** What `member` alone (or `member --help`) prints: its subcommands. */
export function subcommandsHelp(command: CommandSpec): string {
  const subs = command.subcommands ?? [];
  const text = [
    'NAME:',
    `   ${PROGRAM} ${command.name} - ${command.usage}`,
    '',
    'USAGE:',
    `   ${PROGRAM} ${command.name} command [command options] [arguments...]`,
    '',
    'COMMANDS:',
    ...subs.map((s) => `   ${s.name}\t${s.usage}`),
    '',
    'OPTIONS:',
    `   ${describeFlag(HELP_FLAG)}`,
    '   ',
    '',
  ].join('\n');
  return alignColumns(text);
}

/** What `member help` prints: the sub-application's own app-style help. */
export function subAppHelp(command: CommandSpec, version: string): string {
  const subs = command.subcommands ?? [];
  const text = [
    'NAME:',
    `   ${PROGRAM} ${command.name} - ${command.usage}`,
    '',
    'USAGE:',
    `   ${PROGRAM} ${command.name} [global options] command [command options] [arguments...]`,
    '',
    'VERSION:',
    `   ${version}`,
    '',
    'COMMANDS:',
    ...subs.map((s) => `   ${s.name}\t${s.usage}`),
    '',
    'GLOBAL OPTIONS:',
    `   ${describeFlag(HELP_FLAG)}`,
    '',
  ].join('\n');
  return alignColumns(text);
}
