import { parseArgs } from 'node:util';
import { errorMessage } from '../src/util/errors.js';
import type { BenchOptions } from './suite.js';
import { SUITES } from './suites.js';
import { teardownAll } from './teardown.js';

const USAGE = `usage: npm run bench -- [suite...] [--rounds N] [--seconds S] [--cpu-prof-dir DIR]

Runs the named suites, or every available one when none is named.
  --rounds N          measured rounds per peer, median reported (default 3)
  --seconds S         length of each timed load phase (default 3)
  --cpu-prof-dir DIR  run Cairn under node --cpu-prof, profiles land in DIR

suites:
${SUITES.map((s) => `  ${s.name.padEnd(8)} ${s.summary}`).join('\n')}`;

async function main(): Promise<number> {
  const { values, positionals } = parseArgs({
    allowPositionals: true,
    options: {
      rounds: { type: 'string', default: '3' },
      seconds: { type: 'string', default: '3' },
      'cpu-prof-dir': { type: 'string' },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  if (values.help) {
    console.log(USAGE);
    return 0;
  }
  const rounds = Number(values.rounds);
  const seconds = Number(values.seconds);
  if (!Number.isInteger(rounds) || rounds < 1 || !(seconds > 0)) {
    console.error(`--rounds must be a positive integer and --seconds a positive number\n\n${USAGE}`);
    return 2;
  }
  const unknown = positionals.filter((name) => !SUITES.some((s) => s.name === name));
  if (unknown.length > 0) {
    console.error(`unknown suite ${unknown.join(', ')}\n\n${USAGE}`);
    return 2;
  }
  const selected = positionals.length === 0 ? SUITES : SUITES.filter((s) => positionals.includes(s.name));
  const options: BenchOptions = { rounds, seconds, cpuProfDir: values['cpu-prof-dir'] };

  let failed = 0;
  for (const entry of selected) {
    console.log(`== bench ${entry.name}`);
    try {
      await (await entry.load()).run(options);
    } catch (err) {
      failed += 1;
      // After Ctrl-C the teardown's own aborts surface here; they are not news.
      if (!interrupted) console.error(`bench ${entry.name} failed: ${errorMessage(err)}`);
    }
  }
  return failed === 0 ? 0 : 1;
}

let interrupted = false;

// Servers started by a suite must not outlive an interrupted run.
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    interrupted = true;
    process.stderr.write(`\n${signal}: stopping servers\n`);
    void teardownAll().finally(() => process.exit(130));
  });
}

process.exitCode = await main();
