import { Command } from 'commander';
import { rawCtlArgs } from '../ctl/argv.js';

/**
 * `cairn ctl`: etcdctl's v2 mode, flag for flag. Commander only routes the
 * words here; they are parsed by src/ctl/argv.ts with urfave/cli's and Go's
 * rules (global flags first, command flags anywhere, `--`), which commander
 * cannot express. The client code is imported when the command runs, so
 * that other commands do not pay for it at start-up.
 */
export function ctlCommand(): Command {
  return new Command('ctl')
    .description('etcdctl-compatible client for the etcd v2 API ("cairn ctl help" lists its commands)')
    .helpOption(false)
    .allowUnknownOption()
    .allowExcessArguments()
    .argument('[args...]', 'etcdctl arguments: [global options] command [command options] [arguments...]')
    .action(async (_args: string[], _options: unknown, command: Command) => {
      const [{ runCtl }, { processIo }] = await Promise.all([import('../ctl/run.js'), import('../ctl/io.js')]);
      const version = command.parent?.version() ?? '';
      process.stdout.on('error', () => process.exit(0));
      const code = await runCtl(rawCtlArgs(process.argv, command.args), processIo(), version);
      process.exit(code);
    });
}
