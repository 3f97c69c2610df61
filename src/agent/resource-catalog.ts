import { join } from 'node:path';
import type { Logger } from '../log/logger.js';
import { loadResources } from './resource.js';
import type { ResourceEntry } from './resource-entry.js';
import { loadTemplateDir, nodeFileExists } from './template-files.js';
import { HandlebarsRenderer } from './template/render.js';

export interface CatalogProblem {
  /** The resource file concerned. */
  readonly file: string;
  readonly message: string;
  /** True when an earlier good version of this resource keeps serving. */
  readonly keptPrevious: boolean;
}

export interface CatalogLoad {
  readonly entries: readonly ResourceEntry[];
  readonly problems: readonly CatalogProblem[];
}

/**
 * The template resources of a confdir, reloaded on demand. A resource file or
 * template that breaks is rejected and the last version that worked keeps
 * serving; each load builds one renderer over one snapshot of templates/.
 */
export class ResourceCatalog {
  readonly confdir: string;
  readonly #prefix: string;
  readonly #logger: Logger;
  #entries = new Map<string, ResourceEntry>();

  constructor(confdir: string, globalPrefix: string, logger: Logger) {
    this.confdir = confdir;
    this.#prefix = globalPrefix;
    this.#logger = logger;
  }

  get entries(): readonly ResourceEntry[] {
    return [...this.#entries.values()];
  }

  /** Reads conf.d/ and templates/ again. Throws ConfDirError only when conf.d/ cannot be listed at all. */
  async load(): Promise<CatalogLoad> {
    const templateDir = join(this.confdir, 'templates');
    const { resources, errors } = await loadResources(this.confdir, this.#prefix, { templateDir });
    const problems: CatalogProblem[] = [];
    const next = new Map<string, ResourceEntry>();
    const keepPrevious = (file: string, message: string): void => {
      const previous = this.#entries.get(file);
      if (previous !== undefined) next.set(file, previous);
      problems.push({ file, message, keptPrevious: previous !== undefined });
    };
    for (const error of errors) keepPrevious(error.file, error.message);

    let renderer: HandlebarsRenderer | undefined;
    try {
      renderer = new HandlebarsRenderer({ templates: await loadTemplateDir(templateDir), fileExists: nodeFileExists });
    } catch (err) {
      for (const spec of resources) keepPrevious(spec.file, `cannot read templates: ${(err as Error).message}`);
    }
    if (renderer !== undefined) {
      const destinations = new Map<string, string>();
      for (const spec of resources) {
        try {
          renderer.check(spec);
        } catch (err) {
          keepPrevious(spec.file, (err as Error).message);
          continue;
        }
        const clash = destinations.get(spec.dest);
        if (clash !== undefined) {
          keepPrevious(spec.file, `dest ${spec.dest} is already written by ${clash}`);
          continue;
        }
        destinations.set(spec.dest, spec.file);
        next.set(spec.file, { spec, renderer });
      }
    }
    for (const problem of problems) {
      this.#logger.error({ file: problem.file, keptPrevious: problem.keptPrevious }, `template resource rejected: ${problem.message}`);
    }
    this.#entries = new Map([...next].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
    return { entries: this.entries, problems };
  }
}
