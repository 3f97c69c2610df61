#!/usr/bin/env node
import { Command } from 'commander';
import { CAIRN_VERSION } from '../version.js';
import { acceptGoStyleFlags } from './go-flags.js';

/**
 * Each command's module is loaded only when that command runs (all of them
 * for `cairn --help`), so `cairn ctl` does not pay for the store, Raft and
 * the template engine at start-up.
 */
const COMMANDS: Readonly<Record<string, () => Promise<Command>>> = {
  serve: async () => (await import('./serve.js')).serveCommand(),
  agent: async () => (await import('./agent.js')).agentCommand(),
  register: async () => (await import('./register.js')).registerCommand(),
  ctl: async () => (await import('./ctl.js')).ctlCommand(),
};

const program = new Command('cairn')
  .description('A confd-style configuration agent with its own etcd-compatible replicated key-value store')
  .version(CAIRN_VERSION);

const [node = 'node', script = 'cairn', command, ...rest] = process.argv;
const wanted = command !== undefined && Object.hasOwn(COMMANDS, command) ? [command] : Object.keys(COMMANDS);
for (const name of wanted) program.addCommand(await (COMMANDS[name] as () => Promise<Command>)());

const argv = command === 'agent' ? [node, script, command, ...acceptGoStyleFlags(rest)] : process.argv;
await program.parseAsync(argv);
