import { join } from 'node:path';
import type { Logger } from '../log/logger.js';
import { loadResources, type ResourceSpec } from './resource.js';
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
    // Each dest is written by one resource; entries only enter `next` through claim().
    const destinations = new Map<string, string>();
    const claim = (file: string, entry: ResourceEntry): string | undefined => {
      const owner = destinations.get(entry.spec.dest);
      if (owner !== undefined && owner !== file) return owner;
      destinations.set(entry.spec.dest, file);
      next.set(file, entry);
      return undefined;
    };
    const keepPrevious = (file: string, message: string): void => {
      const previous = this.#entries.get(file);
      problems.push({ file, message, keptPrevious: previous !== undefined && claim(file, previous) === undefined });
    };
    for (const error of errors) keepPrevious(error.file, error.message);

    let renderer: HandlebarsRenderer | undefined;
    try {
      renderer = new HandlebarsRenderer({ templates: await loadTemplateDir(templateDir), fileExists: nodeFileExists });
    } catch (err) {
      for (const spec of resources) keepPrevious(spec.file, `cannot read templates: ${(err as Error).message}`);
    }
    if (renderer !== undefined) {
      const usable: ResourceSpec[] = [];
      for (const spec of resources) {
        try {
          renderer.check(spec);
          usable.push(spec);
        } catch (err) {
          keepPrevious(spec.file, (err as Error).message);
        }
      }
      // Broken resources that keep serving have claimed their dests by now, and
      // resources that already wrote a dest claim it next, so a new resource
      // never takes over a file that an older one still writes.
      const incumbent = (spec: ResourceSpec): boolean => this.#entries.get(spec.file)?.spec.dest === spec.dest;
      for (const spec of [...usable.filter(incumbent), ...usable.filter((spec) => !incumbent(spec))]) {
        const owner = claim(spec.file, { spec, renderer });
        if (owner !== undefined) keepPrevious(spec.file, `dest ${spec.dest} is already written by ${owner}`);
      }
    }
    for (const problem of problems) {
      this.#logger.error({ file: problem.file, keptPrevious: problem.keptPrevious }, `template resource rejected: ${problem.message}`);
    }
    this.#entries = new Map([...next].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
    return { entries: this.entries, problems };
  }
}
