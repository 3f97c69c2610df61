import { goJson } from '../v2store/go-json.js';
import type { CtlIo } from './io.js';
import type { GoNode, KeysResponse } from './keys-api.js';

/**
 * etcdctl's printResponseKey: `simple` prints the value, `extended` an
 * RFC 2822-style block, `json` the response re-encoded the way Go's
 * encoding/json encodes the client's Response struct (field order, zero
 * values, null for absent nodes, HTML-safe escapes).
 */

function nodeJson(node: GoNode | null): string {
  if (node === null) return 'null';
  const parts = [`"key":${goJson(node.key)}`];
  if (node.dir) parts.push('"dir":true');
  parts.push(`"value":${goJson(node.value)}`);
  parts.push(`"nodes":${node.nodes === null ? 'null' : `[${node.nodes.map(nodeJson).join(',')}]`}`);
  parts.push(`"createdIndex":${node.createdIndex}`, `"modifiedIndex":${node.modifiedIndex}`);
  if (node.expiration !== undefined) parts.push(`"expiration":${goJson(node.expiration)}`);
  if (node.ttl !== 0) parts.push(`"ttl":${node.ttl}`);
  return `{${parts.join(',')}}`;
}

export function responseJson(resp: KeysResponse): string {
  return `{"action":${goJson(resp.action)},"node":${nodeJson(resp.node)},"prevNode":${nodeJson(resp.prevNode)}}`;
}

const EMPTY_NODE: GoNode = { key: '', dir: false, value: '', nodes: null, createdIndex: 0, modifiedIndex: 0, expiration: undefined, ttl: 0 };

export function printResponseKey(io: CtlIo, resp: KeysResponse, format: string): void {
  // etcdctl dereferences these pointers unguarded; a well-formed answer always has them.
  const node = resp.node ?? EMPTY_NODE;
  switch (format) {
    case 'simple':
      io.out(resp.action !== 'delete' ? `${node.value}\n` : `PrevNode.Value: ${(resp.prevNode ?? EMPTY_NODE).value}\n`);
      return;
    case 'extended': {
      let text = `Key: ${node.key}\nCreated-Index: ${node.createdIndex}\nModified-Index: ${node.modifiedIndex}\n`;
      if (resp.prevNode !== null) text += `PrevNode.Value: ${resp.prevNode.value}\n`;
      text += `TTL: ${node.ttl}\nIndex: ${resp.index}\n`;
      if (resp.action !== 'delete') text += `\n${node.value}\n`;
      io.out(text);
      return;
    }
    case 'json':
      io.out(`${responseJson(resp)}\n`);
      return;
    default:
      io.err(`Unsupported output format: ${format}\n`);
  }
}
