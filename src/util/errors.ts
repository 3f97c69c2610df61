/**
 * Every error Cairn throws on purpose is a CairnError with a stable `code`
 * (prefixed `CAIRN_`), so callers branch on codes, never on message text.
 */
export class CairnError extends Error {
  readonly code: string;

  constructor(code: string, message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = new.target.name;
    this.code = code;
  }
}

export function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
