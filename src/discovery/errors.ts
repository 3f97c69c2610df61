import { CairnError } from '../util/errors.js';

/*
 * Why discovery could not give a cluster. The messages are etcd's
 * (v2discovery.Err*), which operators search for.
 */

export class DiscoveryError extends CairnError {}

export class SizeNotFoundError extends DiscoveryError {
  constructor() {
    super('CAIRN_DISCOVERY_SIZE_NOT_FOUND', 'discovery: size key not found');
  }
}

export class BadSizeKeyError extends DiscoveryError {
  constructor() {
    super('CAIRN_DISCOVERY_BAD_SIZE', 'discovery: size key is bad');
  }
}

/** `size` members registered before this one: it cannot be a founding member. */
export class FullClusterError extends DiscoveryError {
  constructor() {
    super('CAIRN_DISCOVERY_FULL', 'discovery: cluster is full');
  }
}

/** This member's id is registered already: a earlier bootstrap with this token got this far and lost its data dir. */
export class DuplicateIdError extends DiscoveryError {
  constructor() {
    super('CAIRN_DISCOVERY_DUPLICATE_ID', 'discovery: found duplicate id');
  }
}

export class DuplicateNameError extends DiscoveryError {
  constructor() {
    super('CAIRN_DISCOVERY_DUPLICATE_NAME', 'discovery: found duplicate name');
  }
}

export class InvalidUrlError extends DiscoveryError {
  constructor() {
    super('CAIRN_DISCOVERY_INVALID_URL', 'discovery: invalid URL');
  }
}

/** The discovery URL answered, but not as a v2 keyspace. */
export class BadDiscoveryEndpointError extends DiscoveryError {
  constructor(detail: string) {
    super('CAIRN_DISCOVERY_BAD_ENDPOINT', `discovery: bad discovery endpoint (${detail})`);
  }
}
