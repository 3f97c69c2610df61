import type { ServerResponse } from 'node:http';
import type { V2Error } from '../v2store/errors.js';
import { goJson } from '../v2store/go-json.js';

// etcd answers every request with these, with or without an Origin header.
const CORS_HEADERS: readonly string[] = [
  'Access-Control-Allow-Headers', 'accept, content-type, authorization',
  'Access-Control-Allow-Methods', 'POST, GET, OPTIONS, PUT, DELETE',
  'Access-Control-Allow-Origin', '*',
];

/**
 * Writes a whole response in one writeHead call with a flat header list:
 * Node's fast path, which skips per-header validation and merging. Every
 * response goes through here (or `startStream`) so none forgets the CORS headers.
 */
export function send(res: ServerResponse, status: number, headers: readonly string[], body: string): void {
  res.writeHead(status, [...CORS_HEADERS, ...headers, 'Content-Length', String(Buffer.byteLength(body))]);
  res.end(body);
}

/** Starts a response whose body follows later (long polls, streams); headers go out at once. */
export function startStream(res: ServerResponse, status: number, headers: readonly string[]): void {
  res.writeHead(status, [...CORS_HEADERS, ...headers]);
  res.flushHeaders();
}

export function sendJson(res: ServerResponse, status: number, value: unknown, headers: readonly string[] = []): void {
  send(res, status, ['Content-Type', 'application/json', ...headers], `${goJson(value)}\n`);
}

/** etcd's error body: one JSON line, X-Etcd-Index set to the error's index. */
export function sendV2Error(res: ServerResponse, err: V2Error, headers: readonly string[] = [], status = err.httpStatus): void {
  sendJson(res, status, err.toJSON(), [...headers, 'X-Etcd-Index', String(err.index)]);
}

/** A plain-text answer in the style of Go's http.Error and http.NotFound. */
export function sendText(res: ServerResponse, status: number, text: string, headers: readonly string[] = []): void {
  send(res, status, ['Content-Type', 'text/plain; charset=utf-8', 'X-Content-Type-Options', 'nosniff', ...headers], text);
}

export function sendNotFound(res: ServerResponse): void {
  sendText(res, 404, '404 page not found\n');
}

/** etcd's allowMethod: 405 with an Allow header listing what is accepted. */
export function sendMethodNotAllowed(res: ServerResponse, allowed: readonly string[]): void {
  sendText(res, 405, 'Method Not Allowed\n', ['Allow', allowed.join(',')]);
}
