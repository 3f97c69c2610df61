import { spawnSync } from 'node:child_process';
import { readSync } from 'node:fs';

/**
 * What `cairn ctl` reads and writes. The process implementation reads stdin
 * synchronously at the file-descriptor level, so the password prompt takes
 * exactly one line and a value read afterwards gets the rest, as with
 * etcdctl.
 */
export interface CtlIo {
  out(text: string): void;
  err(text: string): void;
  readonly env: Readonly<Record<string, string | undefined>>;
  /** All of stdin until end of file ("" when there is none). */
  readStdin(): string;
  /** Prints `prompt` on stdout and reads one line without echo. */
  readPassword(prompt: string): string;
}

function sleepMs(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

/** One read from fd 0; 0 at end of file or when there is no usable stdin. */
function readChunk(buf: Buffer): number {
  for (;;) {
    try {
      return readSync(0, buf, 0, buf.length, null);
    } catch (err) {
      const code = (err as { code?: unknown }).code;
      // A non-blocking pipe has nothing yet: wait for the writer like a blocking read would.
      if (code === 'EAGAIN') {
        sleepMs(5);
        continue;
      }
      if (code === 'EOF' || code === 'EBADF' || code === 'EINVAL' || code === 'ENXIO') return 0;
      throw err;
    }
  }
}

export function processIo(): CtlIo {
  return {
    out: (text) => {
      process.stdout.write(text);
    },
    err: (text) => {
      process.stderr.write(text);
    },
    env: process.env,
    readStdin() {
      const chunks: Buffer[] = [];
      const buf = Buffer.alloc(64 * 1024);
      for (let n = readChunk(buf); n > 0; n = readChunk(buf)) chunks.push(Buffer.from(buf.subarray(0, n)));
      return Buffer.concat(chunks).toString('utf8');
    },
    readPassword(prompt) {
      process.stdout.write(prompt);
      // Like etcdctl (speakeasy), echo is switched off with stty on stdin; its complaints reach stderr as they do there.
      spawnSync('stty', ['-echo'], { stdio: ['inherit', 'inherit', 'inherit'] });
      const bytes: number[] = [];
      const one = Buffer.alloc(1);
      try {
        while (readChunk(one) === 1 && one[0] !== 0x0a) bytes.push(one[0] as number);
      } finally {
        spawnSync('stty', ['echo'], { stdio: ['inherit', 'inherit', 'inherit'] });
      }
      process.stdout.write('\n');
      const line = Buffer.from(bytes).toString('utf8');
      return line.endsWith('\r') ? line.slice(0, -1) : line;
    },
  };
}
