import type { IncomingMessage } from 'node:http';
import { CairnError } from '../util/errors.js';

/** etcd's default --max-request-bytes: larger writes are refused, not buffered. */
export const MAX_REQUEST_BYTES = 1.5 * 1024 * 1024;

export class BodyTooLargeError extends CairnError {
  constructor(limit: number) {
    super('CAIRN_BODY_TOO_LARGE', `request body exceeds ${limit} bytes`);
  }
}

/**
 * Reads the whole body, refusing past `limit` as soon as the declared or
 * received size says so, so a huge upload never sits in memory.
 */
export function readBody(req: IncomingMessage, limit = MAX_REQUEST_BYTES): Promise<Buffer> {
  const declared = Number(req.headers['content-length'] ?? 0);
  if (declared > limit) {
    req.resume();
    return Promise.reject(new BodyTooLargeError(limit));
  }
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let refused = false;
    req.on('data', (chunk: Buffer) => {
      if (refused) return;
      size += chunk.length;
      if (size > limit) {
        refused = true;
        reject(new BodyTooLargeError(limit));
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () => {
      if (!refused) resolve(chunks.length === 1 ? (chunks[0] as Buffer) : Buffer.concat(chunks));
    });
    req.on('error', (err) => {
      if (!refused) reject(err);
    });
  });
}
