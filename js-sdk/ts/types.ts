// Public types of the Edgeflag JS SDK.

export type JsonValue = null | boolean | number | string | JsonValue[] | { [key: string]: JsonValue };

/** An OpenFeature evaluation context: `targetingKey` plus attributes (nested allowed). */
export type EvaluationContext = { targetingKey?: string; [attribute: string]: unknown };

export type FlagType = 'boolean' | 'string' | 'number' | 'object';

export type Reason = 'STATIC' | 'DEFAULT' | 'TARGETING_MATCH' | 'SPLIT' | 'DISABLED' | 'ERROR';

export type ErrorCode =
  | 'FLAG_NOT_FOUND'
  | 'PARSE_ERROR'
  | 'TYPE_MISMATCH'
  | 'TARGETING_KEY_MISSING'
  | 'INVALID_CONTEXT'
  | 'GENERAL'
  | 'PROVIDER_NOT_READY';

/** What the engine decided, exactly as it says it: no `value` when the reason is `ERROR`. */
export interface EvaluationResult {
  value?: JsonValue;
  variant?: string;
  reason: Reason;
  errorCode?: ErrorCode;
  errorMessage?: string;
  ruleIndex?: number;
  ruleId?: string;
  failedPrerequisite?: string;
  flagVersion?: number;
}

/** An evaluation with the caller's default applied: `value` is always set. */
export interface EvaluationDetails<T> extends Omit<EvaluationResult, 'value'> {
  flagKey: string;
  value: T;
}

/** An Ed25519 public key as a JWK (RFC 8037). */
export interface Jwk {
  kty: 'OKP';
  crv: 'Ed25519';
  x: string;
  kid: string;
  alg?: string;
  use?: string;
}

export interface Jwks {
  keys: Jwk[];
}

export interface ClientOptions {
  /** The edge's base URL, e.g. `https://flags.example.com`. */
  url?: string;
  /** The environment's client key: the snapshot is fetched from `/.well-known/flags/{clientKey}`. */
  clientKey?: string;
  /** A signed snapshot (compact JWS) embedded in the page, served before any request. */
  bootstrap?: string;
  /** Trusted publisher keys. Without them (and without `publicKeys`), the JWKS is fetched from `{url}/.well-known/jwks.json`. */
  jwks?: Jwks | string;
  /** Pinned trusted keys, added to `jwks`. */
  publicKeys?: Jwk[];
  /** When set, snapshots of another environment are refused. */
  environment?: string;
  /** Snapshot audiences accepted; default `['client']` (server snapshots are for servers you trust with every flag). */
  audiences?: Array<'client' | 'server'>;
  /** The context evaluations use when they are given none. */
  context?: EvaluationContext;
  /**
   * Follow the edge's event stream (default true, when the edge offers one): a change
   * reaches the client within moments of its publish. Browsers use `EventSource`; node
   * and Workers a streaming `fetch`. Call `close()` to end it.
   */
  live?: boolean;
  /** Polling period in milliseconds while there is no event stream (none offered, or down); default 30000; 0 turns polling off. */
  refreshIntervalMs?: number;
  /** Refresh when the page becomes visible again (browsers); default true. */
  refreshOnVisibility?: boolean;
  /** The `fetch` to use; default `globalThis.fetch`. */
  fetch?: typeof fetch;
  /**
   * Count local evaluations and send the counts to the edge (with the client key) for
   * the admin's usage insights; default true when `url` and `clientKey` are set. Sent
   * every `usageIntervalMs` and with `navigator.sendBeacon` when the page is hidden.
   */
  usage?: boolean;
  /** How often counts are sent, milliseconds; default 60000. */
  usageIntervalMs?: number;
  /** The clock in epoch milliseconds; default `Date.now`. The engine has none of its own. */
  now?: () => number;
}

/** Load warnings: one malformed flag or segment degrades alone. */
export interface LoadWarning {
  kind: 'flag' | 'segment' | 'snapshot';
  key: string | null;
  path: string;
  message: string;
}

export interface SnapshotStatus {
  changed: boolean;
  environment: string | null;
  version: number | null;
  warnings: LoadWarning[];
}

export interface FlagSummary {
  key: string;
  version: number;
  type: FlagType | null;
  enabled: boolean;
  valid: boolean;
  description?: string;
  tags: string[];
  metadata: Record<string, JsonValue>;
}

/** Sent when a newly accepted snapshot changes what the current context gets. */
export interface ChangeEvent {
  flags: string[];
  version: number | null;
}

export interface ClientEvents {
  change: ChangeEvent;
  error: Error;
}
