// The one error of the SDK: a refused key set or snapshot, or a failed fetch.

export type EdgeflagErrorCode =
  | 'INVALID_KEYS'
  | 'MALFORMED'
  | 'UNKNOWN_KEY'
  | 'BAD_SIGNATURE'
  | 'WRONG_SNAPSHOT'
  | 'STALE_SNAPSHOT'
  | 'SNAPSHOT_REFUSED'
  | 'FETCH_FAILED'
  | 'NO_SNAPSHOT'
  | 'INVALID_CONTEXT';

export class EdgeflagError extends Error {
  readonly code: EdgeflagErrorCode;

  constructor(code: EdgeflagErrorCode, message: string) {
    super(message);
    this.name = 'EdgeflagError';
    this.code = code;
  }
}

interface Envelope<T> {
  ok?: T;
  error?: { code: EdgeflagErrorCode; message: string };
}

/** Unwraps the engine adapter's `{"ok"}` / `{"error"}` envelope. */
export function unwrap<T>(json: string): T {
  const envelope = JSON.parse(json) as Envelope<T>;
  if (envelope.error) throw new EdgeflagError(envelope.error.code, envelope.error.message);
  return envelope.ok as T;
}
