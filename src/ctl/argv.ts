import { COMMANDS, findCommand, GLOBAL_FLAGS, HELP_ALIASES, HELP_FLAG, type CommandName, type CommandSpec } from './cli-spec.js';
import { FlagSyntaxError, parseGoFlags, reorderCommandArgs, type FlagValues } from './go-flag-set.js';
import { appHelp, commandHelp, PROGRAM, subAppHelp, subcommandsHelp } from './help.js';

/**
 * The command line as etcdctl's v2 mode reads it (urfave/cli 1.22 over Go's
 * flag package): global flags before the command, the command's own flags
 * anywhere among its arguments (each may swallow the next word as its value),
 * `--` ending the flags. Commander cannot be taught these rules, so `cairn
 * ctl` hands its raw arguments to this parser.
 */

export interface CtlRun {
  readonly kind: 'run';
  readonly command: CommandName;
  readonly global: FlagValues;
  readonly flags: FlagValues;
  readonly args: readonly string[];
}

/** Something to print instead of running a command: help, the version, or a usage error. */
export interface CtlPrint {
  readonly kind: 'print';
  readonly stdout: string;
  readonly stderr: string;
  readonly exitCode: number;
}

export type CtlInvocation = CtlRun | CtlPrint;

function print(stdout: string, stderr = '', exitCode = 0): CtlPrint {
  return { kind: 'print', stdout, stderr, exitCode };
}

function noHelpTopic(name: string): CtlPrint {
  return print('', `No help topic for '${name}'\n`, 3);
}

function helpFor(commands: readonly CommandSpec[], topic: string | undefined, general: string, parent?: string): CtlPrint {
  if (topic === undefined) return print(general);
  const command = findCommand(commands, topic);
  return command === undefined ? noHelpTopic(topic) : print(commandHelp(command, parent));
}

function runCommand(command: CommandSpec, rest: readonly string[], global: FlagValues, parent?: string): CtlInvocation {
  const specs = [...command.flags, HELP_FLAG];
  let parsed;
  try {
    parsed = parseGoFlags(specs, reorderCommandArgs(specs, rest));
  } catch (err) {
    if (!(err instanceof FlagSyntaxError)) throw err;
    return print(`Incorrect Usage: ${err.message}\n\n${commandHelp(command, parent)}`, `${err.message}\n`, 1);
  }
  if (parsed.values.bool('help')) return print(commandHelp(command, parent));
  const name = (parent === undefined ? command.name : `${parent} ${command.name}`) as CommandName;
  return { kind: 'run', command: name, global, flags: parsed.values, args: parsed.args };
}

function runSubcommands(command: CommandSpec, rest: readonly string[], global: FlagValues, version: string): CtlInvocation {
  const subs = command.subcommands ?? [];
  let parsed;
  try {
    parsed = parseGoFlags([HELP_FLAG], rest);
  } catch (err) {
    if (!(err instanceof FlagSyntaxError)) throw err;
    return print(`Incorrect Usage. ${err.message}\n\n${subcommandsHelp(command)}`, `${err.message}\n`, 1);
  }
  const [name, ...args] = parsed.args;
  if (parsed.values.bool('help') || name === undefined) return print(subcommandsHelp(command));
  if (HELP_ALIASES.includes(name)) return helpFor(subs, args[0], subAppHelp(command, version), command.name);
  const sub = findCommand(subs, name);
  return sub === undefined ? noHelpTopic(name) : runCommand(sub, args, global, command.name);
}

/** Reads `cairn ctl`'s arguments (everything after "ctl") the way etcdctl 3.4 reads its own. */
export function parseCtlArgs(args: readonly string[], version: string): CtlInvocation {
  let parsed;
  try {
    parsed = parseGoFlags(GLOBAL_FLAGS, args);
  } catch (err) {
    if (!(err instanceof FlagSyntaxError)) throw err;
    return print(`Incorrect Usage. ${err.message}\n\n${appHelp(version)}`, `${err.message}\n`, 1);
  }
  const global = parsed.values;
  if (global.bool('help')) return print(appHelp(version));
  if (global.bool('version')) return print(`${PROGRAM} version: ${version}\nAPI version: 2\n`);
  const [name, ...rest] = parsed.args;
  if (name === undefined) return print(appHelp(version));
  if (HELP_ALIASES.includes(name)) return helpFor(COMMANDS, rest[0], appHelp(version));
  const command = findCommand(COMMANDS, name);
  if (command === undefined) return noHelpTopic(name);
  return command.subcommands === undefined ? runCommand(command, rest, global) : runSubcommands(command, rest, global, version);
}

/**
 * `cairn ctl`'s raw arguments. Commander hands the subcommand its arguments
 * minus a bare `--` that precedes any option (and minus the root program's
 * own options), but `--` matters to etcdctl's grammar (`exec-watch key --
 * cmd`), so the words are taken from the process's argv when they agree with
 * what commander passed, and from commander otherwise (e.g. when the command
 * is embedded in another program).
 */
export function rawCtlArgs(processArgv: readonly string[], commanderArgs: readonly string[]): string[] {
  const user = processArgv.slice(2);
  const at = user.findIndex((a) => !a.startsWith('-'));
  if (at >= 0 && user[at] === 'ctl') {
    const raw = user.slice(at + 1);
    const stripped = raw.filter((a) => a !== '--');
    const passed = commanderArgs.filter((a) => a !== '--');
    if (isSubsequence(passed, stripped)) return raw;
  }
  return [...commanderArgs];
}

function isSubsequence(small: readonly string[], big: readonly string[]): boolean {
  let i = 0;
  for (const item of big) if (i < small.length && item === small[i]) i++;
  return i === small.length;
}
