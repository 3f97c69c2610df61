import type { ServerResponse } from 'node:http';
import type { V2Error } from '../v2store/errors.js';
import { goJson } from '../v2store/go-json.js';

// etcd answers every request with these, with or without an Origin header.
const CORS_HEADERS: Readonly<Record<string, string>> = {
  'Access-Control-Allow-Headers': 'accept, content-type, authorization',
  'Access-Control-Allow-Methods': 'POST, GET, OPTIONS, PUT, DELETE',
  'Access-Control-Allow-Origin': '*',
};

export function setCors(res: ServerResponse): void {
  for (const [name, value] of Object.entries(CORS_HEADERS)) res.setHeader(name, value);
}

export function sendBody(res: ServerResponse, status: number, contentType: string, body: string, headers?: Record<string, string>): void {
  res.statusCode = status;
  res.setHeader('Content-Type', contentType);
  if (headers !== undefined) for (const [name, value] of Object.entries(headers)) res.setHeader(name, value);
  res.setHeader('Content-Length', Buffer.byteLength(body));
  res.end(body);
}

export function sendJson(res: ServerResponse, status: number, value: unknown, headers?: Record<string, string>): void {
  sendBody(res, status, 'application/json', `${goJson(value)}\n`, headers);
}

/** etcd's error body: one JSON line, X-Etcd-Index set to the error's index. */
export function sendV2Error(res: ServerResponse, err: V2Error): void {
  res.setHeader('X-Etcd-Index', String(err.index));
  sendJson(res, err.httpStatus, err.toJSON());
}

/** Go's http.NotFound. */
export function sendNotFound(res: ServerResponse): void {
  res.setHeader('X-Content-Type-Options', 'nosniff');
  sendBody(res, 404, 'text/plain; charset=utf-8', '404 page not found\n');
}

/** etcd's allowMethod: 405 with an Allow header listing what is accepted. */
export function sendMethodNotAllowed(res: ServerResponse, allowed: readonly string[]): void {
  res.setHeader('Allow', allowed.join(','));
  res.setHeader('X-Content-Type-Options', 'nosniff');
  sendBody(res, 405, 'text/plain; charset=utf-8', 'Method Not Allowed\n');
}

/** A plain-text error in the style of Go's http.Error. */
export function sendTextError(res: ServerResponse, status: number, message: string): void {
  res.setHeader('X-Content-Type-Options', 'nosniff');
  sendBody(res, status, 'text/plain; charset=utf-8', `${message}\n`);
}
