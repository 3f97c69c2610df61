import { parseCtlArgs, type CtlRun } from './argv.js';
import type { CommandName } from './cli-spec.js';
import { clusterHealthCommand } from './commands/cluster-health.js';
import {
  getCommand,
  lsCommand,
  mkCommand,
  mkdirCommand,
  rmCommand,
  rmdirCommand,
  setCommand,
  setdirCommand,
  updateCommand,
  updatedirCommand,
  type CommandInput,
} from './commands/keys.js';
import { memberAddCommand, memberListCommand, memberRemoveCommand, memberUpdateCommand } from './commands/member.js';
import { execWatchCommand, watchCommand } from './commands/watch.js';
import { CtlExit } from './exit.js';
import type { CtlIo } from './io.js';
import { CtlSession } from './session.js';

const HANDLERS: Readonly<Record<CommandName, (input: CommandInput) => Promise<void>>> = {
  'cluster-health': clusterHealthCommand,
  mk: mkCommand,
  mkdir: mkdirCommand,
  rm: rmCommand,
  rmdir: rmdirCommand,
  get: getCommand,
  ls: lsCommand,
  set: setCommand,
  setdir: setdirCommand,
  update: updateCommand,
  updatedir: updatedirCommand,
  watch: watchCommand,
  'exec-watch': execWatchCommand,
  'member list': memberListCommand,
  'member add': memberAddCommand,
  'member remove': memberRemoveCommand,
  'member update': memberUpdateCommand,
};

async function execute(run: CtlRun, io: CtlIo): Promise<number> {
  const session = new CtlSession(io, run.global);
  try {
    await HANDLERS[run.command]({ session, flags: run.flags, args: run.args });
    return 0;
  } catch (err) {
    if (err instanceof CtlExit) return err.exitCode;
    io.err(`Error:  ${err instanceof Error ? err.message : String(err)}\n`);
    return 1;
  } finally {
    await session.close();
  }
}

/** Runs `cairn ctl <args>` and returns its exit status; all output goes through `io`. */
export async function runCtl(args: readonly string[], io: CtlIo, version: string): Promise<number> {
  const invocation = parseCtlArgs(args, version);
  if (invocation.kind === 'print') {
    io.out(invocation.stdout);
    io.err(invocation.stderr);
    return invocation.exitCode;
  }
  return execute(invocation, io);
}
