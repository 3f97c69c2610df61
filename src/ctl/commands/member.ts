import { CtlExit, failPlain } from '../exit.js';
import { goQuote } from '../go-values.js';
import { PROGRAM } from '../help.js';
import type { MembersApi } from '../members-api.js';
import type { CommandInput } from './keys.js';

/** member list|add|remove|update, with etcdctl's messages (bare lines on stderr, exit 1 on any failure). */

function message(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

async function attempt<T>(input: CommandInput, call: () => Promise<T>, prefix = ''): Promise<T> {
  try {
    return await call();
  } catch (err) {
    if (err instanceof CtlExit) throw err;
    failPlain(input.session.io, 1, `${prefix}${message(err)}`);
  }
}

export async function memberListCommand(input: CommandInput): Promise<void> {
  if (input.args.length !== 0) failPlain(input.session.io, 1, 'No arguments accepted');
  const api: MembersApi = await input.session.members();
  const deadline = input.session.deadline();
  const members = await attempt(input, () => api.list(deadline));
  const leader = await attempt(input, () => api.leader(deadline), 'Failed to get leader:  ');
  const lines = members.map((m) =>
    m.name === ''
      ? `${m.id}[unstarted]: peerURLs=${m.peerURLs.join(',')}\n`
      : `${m.id}: name=${m.name} peerURLs=${m.peerURLs.join(',')} clientURLs=${m.clientURLs.join(',')} isLeader=${String(m.id === leader.id)}\n`,
  );
  input.session.io.out(lines.join(''));
}

export async function memberAddCommand(input: CommandInput): Promise<void> {
  if (input.args.length !== 2) failPlain(input.session.io, 1, 'Provide a name and a single member peerURL');
  const [name, peerUrl] = input.args as [string, string];
  const api = await input.session.members();
  const deadline = input.session.deadline();
  const added = await attempt(input, () => api.add(peerUrl, deadline));
  input.session.io.out(`Added member named ${name} with ID ${added.id} to cluster\n`);
  const members = await attempt(input, () => api.list(deadline));
  const conf = members.flatMap((m) => m.peerURLs.map((u) => `${m.id === added.id ? name : m.name}=${u}`));
  input.session.io.out(
    `\nETCD_NAME=${goQuote(name)}\nETCD_INITIAL_CLUSTER=${goQuote(conf.join(','))}\nETCD_INITIAL_CLUSTER_STATE="existing"\n`,
  );
}

export async function memberRemoveCommand(input: CommandInput): Promise<void> {
  if (input.args.length !== 1) failPlain(input.session.io, 1, 'Provide a single member ID');
  const id = input.args[0] as string;
  const api = await input.session.members();
  const deadline = input.session.deadline();
  const members = await attempt(input, () => api.list(deadline), 'Error while verifying ID against known members: ');
  let found = false;
  for (const m of members) {
    if (m.id === id) found = true;
    if (m.name === id) {
      input.session.io.err(
        `Found a member named ${m.name}; if this is correct, please use its ID, eg:\n\t${PROGRAM} member remove ${m.id}\n` +
          'For more details, read the documentation at https://github.com/etcd-io/etcd/blob/master/Documentation/runtime-configuration.md#remove-a-member\n\n',
      );
    }
  }
  if (!found) failPlain(input.session.io, 1, `Couldn't find a member in the cluster with an ID of ${id}.`);
  try {
    await api.remove(id, deadline);
  } catch (err) {
    if (err instanceof CtlExit) throw err;
    // etcdctl ends this message without a newline of its own.
    input.session.io.err(`Received an error trying to remove member ${id}: ${message(err)}`);
    throw new CtlExit(1);
  }
  input.session.io.out(`Removed member ${id} from cluster\n`);
}

export async function memberUpdateCommand(input: CommandInput): Promise<void> {
  if (input.args.length !== 2) {
    failPlain(input.session.io, 1, 'Provide an ID and a list of comma separated peerURL (0xabcd http://example.com,http://example1.com)');
  }
  const [id, urls] = input.args as [string, string];
  const api = await input.session.members();
  const deadline = input.session.deadline();
  await attempt(input, () => api.update(id, urls.split(','), deadline));
  input.session.io.out(`Updated member with ID ${id} in cluster\n`);
}
