import type { ResourceSpec } from './resource.js';
import type { HandlebarsRenderer } from './template/render.js';

/** A resource together with the renderer of the templates version it was accepted with. */
export interface ResourceEntry {
  readonly spec: ResourceSpec;
  readonly renderer: HandlebarsRenderer;
}
