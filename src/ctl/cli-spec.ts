import type { FlagSpec } from './go-flag-set.js';

/**
 * The command-line surface of `cairn ctl`, declared like etcdctl 3.4's v2
 * mode declares it (names, aliases, value kinds, usage texts), so parsing,
 * help and error messages follow from one table.
 */

export type CommandName =
  | 'cluster-health'
  | 'mk'
  | 'mkdir'
  | 'rm'
  | 'rmdir'
  | 'get'
  | 'ls'
  | 'set'
  | 'setdir'
  | 'update'
  | 'updatedir'
  | 'watch'
  | 'exec-watch'
  | 'member list'
  | 'member add'
  | 'member remove'
  | 'member update';

export interface CommandSpec {
  readonly name: string;
  readonly usage: string;
  readonly argsUsage?: string;
  readonly description?: string;
  readonly flags: readonly FlagSpec[];
  /** For `member`: its subcommands. */
  readonly subcommands?: readonly CommandSpec[];
}

const TTL: FlagSpec = { names: ['ttl'], kind: 'int', usage: 'key time-to-live in seconds', defaultText: '0' };
const SORT: FlagSpec = { names: ['sort'], kind: 'bool', usage: 'returns result in sorted order' };
const QUORUM: FlagSpec = { names: ['quorum', 'q'], kind: 'bool', usage: 'require quorum for get request' };

export const HELP_FLAG: FlagSpec = { names: ['help', 'h'], kind: 'bool', usage: 'show help' };
export const VERSION_FLAG: FlagSpec = { names: ['version', 'v'], kind: 'bool', usage: 'print the version' };

export const DEFAULT_ENDPOINTS = 'http://127.0.0.1:2379,http://127.0.0.1:4001';

export const GLOBAL_FLAGS: readonly FlagSpec[] = [
  { names: ['debug'], kind: 'bool', usage: 'output cURL commands which can be used to reproduce the request' },
  { names: ['no-sync'], kind: 'bool', usage: "don't synchronize cluster information before sending request" },
  {
    names: ['output', 'o'],
    kind: 'string',
    usage: 'output response in the given format (simple, `extended` or `json`)',
    placeholder: 'simple',
    defaultText: '"simple"',
  },
  { names: ['peers', 'C'], kind: 'string', usage: 'DEPRECATED - "--endpoints" should be used instead' },
  { names: ['endpoint'], kind: 'string', usage: 'DEPRECATED - "--endpoints" should be used instead' },
  {
    names: ['endpoints'],
    kind: 'string',
    usage: `a comma-delimited list of machine addresses in the cluster (default: "${DEFAULT_ENDPOINTS}")`,
  },
  { names: ['cert-file'], kind: 'string', usage: 'identify HTTPS client using this SSL certificate file' },
  { names: ['key-file'], kind: 'string', usage: 'identify HTTPS client using this SSL key file' },
  { names: ['ca-file'], kind: 'string', usage: 'verify certificates of HTTPS-enabled servers using this CA bundle' },
  { names: ['username', 'u'], kind: 'string', usage: 'provide username[:password] and prompt if password is not supplied.' },
  { names: ['timeout'], kind: 'duration', usage: 'connection timeout per request', defaultText: '2s' },
  { names: ['total-timeout'], kind: 'duration', usage: 'timeout for the command execution (except watch)', defaultText: '5s' },
  HELP_FLAG,
  VERSION_FLAG,
];

export const COMMANDS: readonly CommandSpec[] = [
  {
    name: 'cluster-health',
    usage: 'check the health of the etcd cluster',
    argsUsage: ' ',
    flags: [{ names: ['forever', 'f'], kind: 'bool', usage: 'forever check the health every 10 second until CTRL+C' }],
  },
  {
    name: 'mk',
    usage: 'make a new key with a given value',
    argsUsage: '<key> <value>',
    flags: [{ names: ['in-order'], kind: 'bool', usage: 'create in-order key under directory <key>' }, TTL],
  },
  { name: 'mkdir', usage: 'make a new directory', argsUsage: '<key>', flags: [TTL] },
  {
    name: 'rm',
    usage: 'remove a key or a directory',
    argsUsage: '<key>',
    flags: [
      { names: ['dir'], kind: 'bool', usage: 'removes the key if it is an empty directory or a key-value pair' },
      { names: ['recursive', 'r'], kind: 'bool', usage: 'removes the key and all child keys(if it is a directory)' },
      { names: ['with-value'], kind: 'string', usage: 'previous value' },
      { names: ['with-index'], kind: 'int', usage: 'previous index', defaultText: '0' },
    ],
  },
  { name: 'rmdir', usage: 'removes the key if it is an empty directory or a key-value pair', argsUsage: '<key>', flags: [] },
  { name: 'get', usage: 'retrieve the value of a key', argsUsage: '<key>', flags: [SORT, QUORUM] },
  {
    name: 'ls',
    usage: 'retrieve a directory',
    argsUsage: '[key]',
    flags: [
      SORT,
      { names: ['recursive', 'r'], kind: 'bool', usage: 'returns all key names recursively for the given path' },
      { names: ['p'], kind: 'bool', usage: 'append slash (/) to directories' },
      QUORUM,
    ],
  },
  {
    name: 'set',
    usage: 'set the value of a key',
    argsUsage: '<key> <value>',
    description: [
      'Set sets the value of a key.',
      '',
      "   When <value> begins with '-', <value> is interpreted as a flag.",
      "   Insert '--' for workaround:",
      '',
      '   $ set -- <key> <value>',
    ].join('\n'),
    flags: [
      TTL,
      { names: ['swap-with-value'], kind: 'string', usage: 'previous value' },
      { names: ['swap-with-index'], kind: 'int', usage: 'previous index', defaultText: '0' },
    ],
  },
  { name: 'setdir', usage: 'create a new directory or update an existing directory TTL', argsUsage: '<key>', flags: [TTL] },
  { name: 'update', usage: 'update an existing key with a given value', argsUsage: '<key> <value>', flags: [TTL] },
  { name: 'updatedir', usage: 'update an existing directory', argsUsage: '<key> <value>', flags: [TTL] },
  {
    name: 'watch',
    usage: 'watch a key for changes',
    argsUsage: '<key>',
    flags: [
      { names: ['forever', 'f'], kind: 'bool', usage: 'forever watch a key until CTRL+C' },
      { names: ['after-index'], kind: 'int', usage: 'watch after the given index', defaultText: '0' },
      { names: ['recursive', 'r'], kind: 'bool', usage: 'returns all values for key and child keys' },
    ],
  },
  {
    name: 'exec-watch',
    usage: 'watch a key for changes and exec an executable',
    argsUsage: '<key> <command> [args...]',
    flags: [
      { names: ['after-index'], kind: 'int', usage: 'watch after the given index', defaultText: '0' },
      { names: ['recursive', 'r'], kind: 'bool', usage: 'watch all values for key and child keys' },
    ],
  },
  {
    name: 'member',
    usage: 'member add, remove and list subcommands',
    flags: [],
    subcommands: [
      { name: 'list', usage: 'enumerate existing cluster members', argsUsage: ' ', flags: [] },
      { name: 'add', usage: 'add a new member to the etcd cluster', argsUsage: '<name> <peerURL>', flags: [] },
      { name: 'remove', usage: 'remove an existing member from the etcd cluster', argsUsage: '<memberID>', flags: [] },
      { name: 'update', usage: 'update an existing member in the etcd cluster', argsUsage: '<memberID> <peerURLs>', flags: [] },
    ],
  },
];

/** The `help` command urfave/cli adds to every app. */
export const HELP_COMMAND: CommandSpec = {
  name: 'help',
  usage: 'Shows a list of commands or help for one command',
  argsUsage: '[command]',
  flags: [],
};
export const HELP_ALIASES: readonly string[] = ['help', 'h'];

export function findCommand(commands: readonly CommandSpec[], name: string): CommandSpec | undefined {
  return commands.find((c) => c.name === name);
}
