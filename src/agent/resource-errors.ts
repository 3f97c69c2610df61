import { CairnError } from '../util/errors.js';

/**
 * A template resource file (conf.d/*.toml) that cannot be used. The message
 * always starts with `file:line:` so an operator can jump straight to it;
 * `line` is 0 when the problem is not tied to a line (unreadable file).
 */
export class ResourceError extends CairnError {
  readonly file: string;
  readonly line: number;
  readonly field: string | undefined;

  constructor(file: string, line: number, message: string, options?: ErrorOptions & { field?: string }) {
    super('CAIRN_RESOURCE_INVALID', `${line > 0 ? `${file}:${line}` : file}: ${message}`, options);
    this.file = file;
    this.line = line;
    this.field = options?.field;
  }
}

/** The configuration directory has no readable conf.d/: nothing can be loaded at all. */
export class ConfDirError extends CairnError {
  readonly dir: string;

  constructor(dir: string, message: string, options?: ErrorOptions) {
    super('CAIRN_CONFDIR_MISSING', `${dir}: ${message}`, options);
    this.dir = dir;
  }
}
