#!/usr/bin/env node
import { Command } from 'commander';
import { CAIRN_VERSION } from '../http/server.js';
import { serveCommand } from './serve.js';

const program = new Command('cairn')
  .description('A confd-style configuration agent with its own etcd-compatible replicated key-value store')
  .version(CAIRN_VERSION)
  .addCommand(serveCommand());

await program.parseAsync(process.argv);
