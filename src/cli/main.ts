#!/usr/bin/env node
import { Command } from 'commander';
import { CAIRN_VERSION } from '../http/server.js';
import { agentCommand } from './agent.js';
import { acceptGoStyleFlags } from './go-flags.js';
import { registerCommand } from './register.js';
import { serveCommand } from './serve.js';

const program = new Command('cairn')
  .description('A confd-style configuration agent with its own etcd-compatible replicated key-value store')
  .version(CAIRN_VERSION)
  .addCommand(serveCommand())
  .addCommand(agentCommand())
  .addCommand(registerCommand());

const [node = 'node', script = 'cairn', command, ...rest] = process.argv;
const argv = command === 'agent' ? [node, script, command, ...acceptGoStyleFlags(rest)] : process.argv;
await program.parseAsync(argv);
