// The client: holds one wasm engine, feeds it verified snapshots (from a bootstrap
// and from the edge), and answers evaluations. Every decision — signature checks,
// acceptance, evaluation — is the engine's; this file only moves data and time.

import { EdgeflagError, unwrap } from './errors.js';
import { EventStream } from './live.js';
import { UsageCounter, sendCounts } from './usage.js';
import type {
  ChangeEvent,
  ClientEvents,
  ClientOptions,
  EvaluationContext,
  EvaluationDetails,
  EvaluationResult,
  FlagSummary,
  FlagType,
  JsonValue,
  LoadWarning,
  SnapshotStatus,
} from './types.js';

/** The wasm-bindgen `Engine` class, as the client uses it. */
export interface WasmEngine {
  trust(jwks: string): string;
  setPolicy(audiences: string, environment: string): void;
  update(token: string): string;
  version(): number | undefined;
  environment(): string | undefined;
  setContext(json: string): void;
  evaluate(key: string, type: number, nowMs: number): string;
  evaluateBoolean(key: string, nowMs: number): number;
  evaluateAll(nowMs: number): string;
  flags(): string;
  free(): void;
}

type Listener<E extends keyof ClientEvents> = (event: ClientEvents[E]) => void;

const DEFAULT_REFRESH_MS = 30_000;

const DEFAULT_USAGE_MS = 60_000;

/** How often a refetch asks again for a version an event announced but the edge does not serve yet. */
const CHASE_ATTEMPTS = 4;

/** The response header that names the edge's event stream for the snapshot's environment. */
const STREAM_HEADER = 'edgeflag-event-stream';

/** The adapter's codes for typed evaluation (0 is untyped). */
const TYPE_CODES: Record<FlagType, number> = { boolean: 1, string: 2, number: 3, object: 4 };

export class EdgeflagClient {
  readonly #engine: WasmEngine;
  readonly #options: ClientOptions;
  readonly #fetch: typeof fetch;
  readonly #now: () => number;
  readonly #listeners: { [E in keyof ClientEvents]: Set<Listener<E>> } = { change: new Set(), error: new Set() };
  #context: unknown = {};
  #engineContext: unknown = undefined;
  #etag: string | undefined;
  #timer: ReturnType<typeof setInterval> | undefined;
  #onVisible: (() => void) | undefined;
  #stream: EventStream | undefined;
  #streamUrl: string | undefined;
  /** The refresh in flight, and whether events arrived meanwhile (then one more runs after it). */
  #inflight: Promise<void> | undefined;
  /** Set once `start` has set up refreshing; a stream URL learnt later then connects. */
  #scheduled = false;
  #again = false;
  #againVersion: number | undefined;
  #closed = false;
  #warnings: LoadWarning[] = [];
  #usage: UsageCounter | undefined;
  #usageTimer: ReturnType<typeof setInterval> | undefined;
  #onHidden: (() => void) | undefined;

  /** Use `createClient` from the package entry instead: it loads the wasm first. */
  constructor(engine: WasmEngine, options: ClientOptions) {
    this.#engine = engine;
    this.#options = options;
    this.#fetch = options.fetch ?? globalThis.fetch.bind(globalThis);
    this.#now = options.now ?? Date.now;
    this.#context = options.context ?? {};
    if (options.usage !== false && options.url !== undefined && options.clientKey !== undefined) {
      this.#usage = new UsageCounter();
    }
    engine.setPolicy((options.audiences ?? ['client']).join(','), options.environment ?? '');
  }

  /** Trusts keys, applies the bootstrap, fetches from the edge, and starts refreshing. */
  async start(): Promise<this> {
    await this.#trustKeys();
    let ready = false;
    if (this.#options.bootstrap !== undefined) {
      try {
        this.update(this.#options.bootstrap);
        ready = true;
      } catch (e) {
        if (!this.#canFetch()) throw e;
        this.#emit('error', e as Error);
      }
    }
    if (this.#canFetch()) {
      // With a good bootstrap the first render needs no round trip: refresh behind it.
      const first = this.refresh();
      if (ready) first.catch((e: Error) => this.#emit('error', e));
      else await first;
    }
    if (this.#engine.version() === undefined) {
      throw new EdgeflagError('NO_SNAPSHOT', 'give the client a `bootstrap` snapshot or a `url` and `clientKey`');
    }
    this.#schedule();
    return this;
  }

  /** Offers a signed snapshot; throws `EdgeflagError` if it is refused (the one in use stays). */
  update(token: string): SnapshotStatus {
    const before = this.#engine.version() === undefined ? undefined : this.#snapshotOfValues();
    const status = unwrap<SnapshotStatus>(this.#engine.update(token));
    if (status.changed) this.#warnings = status.warnings;
    if (status.changed && before !== undefined) this.#announce(before, status.version);
    return status;
  }

  /** Fetches the signed client snapshot with `If-None-Match`; a 304 costs nothing. */
  async refresh(): Promise<SnapshotStatus> {
    return this.#fetchSnapshot(undefined);
  }

  /**
   * `atLeast` is the version an event announced: the edge then checks its store at once
   * rather than serving a cached snapshot until its refresh interval ends.
   */
  async #fetchSnapshot(atLeast: number | undefined): Promise<SnapshotStatus> {
    const { url, clientKey } = this.#options;
    if (url === undefined || clientKey === undefined) {
      throw new EdgeflagError('FETCH_FAILED', 'refresh needs `url` and `clientKey`');
    }
    const headers: Record<string, string> = { accept: 'application/jose' };
    if (this.#etag !== undefined) headers['if-none-match'] = this.#etag;
    const hint = atLeast === undefined ? '' : `?flagConfigEtag=${atLeast}`;
    const res = await this.#get(`${trimSlash(url)}/.well-known/flags/${encodeURIComponent(clientKey)}${hint}`, headers);
    this.#noteStream(res);
    if (res.status === 304) return this.#unchanged();
    if (!res.ok) throw new EdgeflagError('FETCH_FAILED', `snapshot fetch answered ${res.status}`);
    const token = await res.text();
    let status: SnapshotStatus;
    try {
      status = this.update(token);
    } catch (e) {
      // A key the client has not seen: the publisher rotated its signing key. When the
      // client trusts the edge's JWKS (no pinned keys), that JWKS names the new key;
      // fetch it once and try again. Pinned keys are never widened from the network.
      if (!(e instanceof EdgeflagError && e.code === 'UNKNOWN_KEY' && this.#trustsEdgeJwks())) throw e;
      await this.#trustEdgeJwks();
      status = this.update(token);
    }
    this.#etag = res.headers.get('etag') ?? undefined;
    return status;
  }

  /** Sets the context evaluations use when they are given none. Treat contexts as immutable. */
  setContext(context: EvaluationContext): void {
    this.#context = context;
  }

  get context(): EvaluationContext {
    return this.#context as EvaluationContext;
  }

  /** The engine's answer as is: no default applied, no `value` on `ERROR`. */
  evaluate(flagKey: string, context?: unknown, type?: FlagType): EvaluationResult {
    this.#useContext(context);
    const code = type === undefined ? 0 : (TYPE_CODES[type] ?? -1);
    const now = this.#now();
    const result = JSON.parse(this.#engine.evaluate(flagKey, code, now)) as EvaluationResult;
    this.#usage?.record(flagKey, result.variant, result.reason, now);
    return result;
  }

  /** Every flag for a context, keyed by flag. */
  evaluateAll(context?: unknown): Record<string, EvaluationResult> {
    const all = this.#evaluateAll(context);
    const now = this.#now();
    for (const [key, r] of Object.entries(all)) this.#usage?.record(key, r.variant, r.reason, now);
    return all;
  }

  /** Sends the counts gathered so far to the edge now (a beacon when `beacon`); false when the send failed. */
  async flushUsage(beacon = false): Promise<boolean> {
    const { url, clientKey } = this.#options;
    if (this.#usage === undefined || this.#usage.size === 0 || url === undefined || clientKey === undefined) return true;
    const counts = this.#usage.take();
    const target = `${trimSlash(url)}/v1/usage/${encodeURIComponent(clientKey)}`;
    const sent = await sendCounts(target, counts, this.#fetch, beacon);
    if (!sent) this.#usage.restore(counts);
    return sent;
  }

  #evaluateAll(context?: unknown): Record<string, EvaluationResult> {
    this.#useContext(context);
    const all = JSON.parse(this.#engine.evaluateAll(this.#now())) as Record<string, EvaluationResult> | EvaluationResult;
    // A refused context (or no snapshot) answers one error for the whole call.
    if (typeof all.reason === 'string') {
      const code = all.errorCode === 'PROVIDER_NOT_READY' ? 'NO_SNAPSHOT' : 'INVALID_CONTEXT';
      throw new EdgeflagError(code, String(all.errorMessage));
    }
    return all as Record<string, EvaluationResult>;
  }

  getBooleanValue(flagKey: string, defaultValue: boolean, context?: EvaluationContext): boolean {
    // The hottest call answers with a number, not JSON: 0 false, 1 true, 2 error.
    // Counting needs the variant and reason, so it takes the detailed path.
    if (this.#usage !== undefined) return this.getBooleanDetails(flagKey, defaultValue, context).value;
    this.#useContext(context);
    const answer = this.#engine.evaluateBoolean(flagKey, this.#now());
    return answer === 2 ? defaultValue : answer === 1;
  }

  getStringValue(flagKey: string, defaultValue: string, context?: EvaluationContext): string {
    return this.getStringDetails(flagKey, defaultValue, context).value;
  }

  getNumberValue(flagKey: string, defaultValue: number, context?: EvaluationContext): number {
    return this.getNumberDetails(flagKey, defaultValue, context).value;
  }

  getObjectValue<T extends JsonValue>(flagKey: string, defaultValue: T, context?: EvaluationContext): T {
    return this.getObjectDetails(flagKey, defaultValue, context).value;
  }

  getBooleanDetails(flagKey: string, defaultValue: boolean, context?: EvaluationContext): EvaluationDetails<boolean> {
    return this.#details(flagKey, 'boolean', defaultValue, context);
  }

  getStringDetails(flagKey: string, defaultValue: string, context?: EvaluationContext): EvaluationDetails<string> {
    return this.#details(flagKey, 'string', defaultValue, context);
  }

  getNumberDetails(flagKey: string, defaultValue: number, context?: EvaluationContext): EvaluationDetails<number> {
    return this.#details(flagKey, 'number', defaultValue, context);
  }

  getObjectDetails<T extends JsonValue>(flagKey: string, defaultValue: T, context?: EvaluationContext): EvaluationDetails<T> {
    return this.#details(flagKey, 'object', defaultValue, context);
  }

  /** Keys and metadata of every flag in the snapshot, without evaluating. */
  flags(): FlagSummary[] {
    return JSON.parse(this.#engine.flags()) as FlagSummary[];
  }

  get version(): number | undefined {
    return this.#engine.version();
  }

  /** What loading the snapshot in use found wrong: each such flag or segment answers `PARSE_ERROR` alone. */
  get warnings(): LoadWarning[] {
    return this.#warnings;
  }

  get environment(): string | undefined {
    return this.#engine.environment();
  }

  /** Subscribes to `change` or `error`; returns the unsubscribe function. */
  on<E extends keyof ClientEvents>(event: E, listener: Listener<E>): () => void {
    const set = this.#listeners[event] as Set<Listener<E>>;
    set.add(listener);
    return () => set.delete(listener);
  }

  /** True while the edge's event stream is connected (changes arrive as they happen). */
  get live(): boolean {
    return this.#stream?.connected ?? false;
  }

  /** Stops refreshing, closes the event stream and frees the engine. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    clearInterval(this.#timer);
    clearInterval(this.#usageTimer);
    if (this.#onHidden !== undefined) globalThis.document?.removeEventListener('visibilitychange', this.#onHidden);
    this.#stream?.close();
    if (this.#onVisible !== undefined) globalThis.document?.removeEventListener('visibilitychange', this.#onVisible);
    this.#engine.free();
  }

  #details<T>(flagKey: string, type: FlagType, defaultValue: T, context?: EvaluationContext): EvaluationDetails<T> {
    const result = this.evaluate(flagKey, context, type);
    const value = result.reason === 'ERROR' ? defaultValue : (result.value as T);
    return { ...result, flagKey, value };
  }

  #useContext(context: unknown): void {
    const wanted = context === undefined ? this.#context : context;
    if (wanted === this.#engineContext) return;
    this.#engine.setContext(JSON.stringify(wanted) ?? '{}');
    this.#engineContext = wanted;
  }

  async #trustKeys(): Promise<void> {
    const { jwks, publicKeys, url } = this.#options;
    const documents: string[] = [];
    if (jwks !== undefined) documents.push(typeof jwks === 'string' ? jwks : JSON.stringify(jwks));
    if (publicKeys !== undefined) documents.push(JSON.stringify({ keys: publicKeys }));
    if (documents.length === 0 && url !== undefined) {
      await this.#trustEdgeJwks();
      return;
    }
    if (documents.length === 0) throw new EdgeflagError('INVALID_KEYS', 'give the client `jwks`, `publicKeys` or a `url`');
    for (const doc of documents) unwrap(this.#engine.trust(doc));
  }

  /** True when the client's keys come from the edge's JWKS rather than pinned ones. */
  #trustsEdgeJwks(): boolean {
    const { jwks, publicKeys, url } = this.#options;
    return jwks === undefined && publicKeys === undefined && url !== undefined;
  }

  async #trustEdgeJwks(): Promise<void> {
    const res = await this.#get(`${trimSlash(this.#options.url ?? '')}/.well-known/jwks.json`, { accept: 'application/json' });
    if (!res.ok) throw new EdgeflagError('FETCH_FAILED', `JWKS fetch answered ${res.status}`);
    unwrap(this.#engine.trust(await res.text()));
  }

  async #get(url: string, headers: Record<string, string>): Promise<Response> {
    try {
      return await this.#fetch(url, { headers });
    } catch (e) {
      throw new EdgeflagError('FETCH_FAILED', `${url}: ${(e as Error).message}`);
    }
  }

  #canFetch(): boolean {
    return this.#options.url !== undefined && this.#options.clientKey !== undefined;
  }

  #unchanged(): SnapshotStatus {
    return { changed: false, environment: this.environment ?? null, version: this.version ?? null, warnings: [] };
  }

  /** Sends counts every `usageIntervalMs`, and by beacon when the page is hidden. */
  #scheduleUsage(): void {
    if (this.#usage === undefined) return;
    const every = this.#options.usageIntervalMs ?? DEFAULT_USAGE_MS;
    if (every > 0) {
      this.#usageTimer = setInterval(() => void this.flushUsage(false), every);
      (this.#usageTimer as { unref?: () => void }).unref?.();
    }
    const doc = globalThis.document;
    if (doc !== undefined) {
      this.#onHidden = () => {
        if (doc.visibilityState === 'hidden') void this.flushUsage(true);
      };
      doc.addEventListener('visibilitychange', this.#onHidden);
    }
  }

  #schedule(): void {
    if (!this.#canFetch()) return;
    this.#scheduleUsage();
    const refresh = () => this.#refetch(undefined);
    this.#scheduled = true;
    this.#startPolling();
    this.#connectStream();
    const doc = globalThis.document;
    if (doc !== undefined && this.#options.refreshOnVisibility !== false) {
      this.#onVisible = () => {
        if (doc.visibilityState === 'visible') refresh();
      };
      doc.addEventListener('visibilitychange', this.#onVisible);
    }
  }

  /** Polling, while there is no event stream to say when to fetch. */
  #startPolling(): void {
    const every = this.#options.refreshIntervalMs ?? DEFAULT_REFRESH_MS;
    if (this.#timer !== undefined || every <= 0 || this.#closed) return;
    this.#timer = setInterval(() => this.#refetch(undefined), every);
    (this.#timer as { unref?: () => void }).unref?.();
  }

  #stopPolling(): void {
    clearInterval(this.#timer);
    this.#timer = undefined;
  }

  /** Remembers the stream URL the edge sent with the snapshot (relative to the edge). */
  #noteStream(res: Response): void {
    const link = res.headers.get(STREAM_HEADER);
    if (link === null || this.#options.url === undefined) return;
    try {
      this.#streamUrl = new URL(link, `${trimSlash(this.#options.url)}/`).href;
    } catch {
      // An unusable URL: keep polling.
    }
    // A stream that is down (an expired token, say) tries the new URL; one that is up
    // stays on its connection.
    if (this.#stream !== undefined && !this.#stream.connected && this.#streamUrl !== undefined) {
      this.#stream.retarget(this.#streamUrl);
    } else if (this.#scheduled) {
      this.#connectStream();
    }
  }

  /** Opens the edge's event stream, if it offers one and `live` is not off. */
  #connectStream(): void {
    if (this.#options.live === false || this.#streamUrl === undefined || this.#stream !== undefined || this.#closed) return;
    const useEventSource = typeof EventSource === 'function' && this.#options.fetch === undefined;
    this.#stream = new EventStream(
      this.#streamUrl,
      {
        refetch: (version, snapshot) => {
          if (snapshot !== undefined) this.#offerPushed(snapshot);
          // Nothing to fetch when the pushed snapshot was the announced version.
          this.#refetch(version);
        },
        up: () => {
          this.#stopPolling();
          // Whatever was published while the stream was down.
          this.#refetch(undefined);
        },
        down: (status, refused) => {
          this.#startPolling();
          // A refused connection may be a refused token (expired, or the edge's secret
          // rotated; `EventSource` does not say which status it got): a refresh brings
          // the current URL, and the stream retries with it.
          if (status === 401 || (refused && status === undefined)) this.#refetch(undefined);
        },
      },
      { fetch: this.#fetch, random: Math.random, eventSource: useEventSource },
    );
  }

  /**
   * A snapshot the event stream carried: verified and taken like a fetched one. One the
   * client cannot take (a signing key it has not seen yet, say) is dropped; the refetch
   * that follows fetches the version, with the usual fallbacks.
   */
  #offerPushed(token: string): void {
    try {
      this.update(token);
    } catch {
      // The refetch below handles it.
    }
  }

  /**
   * A refresh that coalesces: events that arrive while one is in flight cause exactly
   * one more, and an event for a version the client already holds causes none. When
   * the edge still answers an older version than the event announced (its store is
   * eventually consistent between locations), the client asks again a few times.
   */
  #refetch(version: number | undefined, attempt = 0): void {
    const held = this.#engine.version();
    if (version !== undefined && held !== undefined && version <= held) return;
    if (this.#inflight !== undefined) {
      this.#again = true;
      if (version !== undefined) this.#againVersion = Math.max(version, this.#againVersion ?? 0);
      return;
    }
    this.#inflight = this.#fetchSnapshot(version)
      .then(
        () => undefined,
        (e: Error) => this.#emit('error', e),
      )
      .finally(() => {
        this.#inflight = undefined;
        if (this.#closed) return;
        if (this.#again) {
          const next = this.#againVersion;
          this.#again = false;
          this.#againVersion = undefined;
          this.#refetch(next);
        } else if (version !== undefined && (this.#engine.version() ?? 0) < version && attempt < CHASE_ATTEMPTS) {
          const retry = setTimeout(() => this.#refetch(version, attempt + 1), 250 * 2 ** attempt);
          (retry as { unref?: () => void }).unref?.();
        }
      });
  }

  /** What the current context gets from every flag, to tell which flags a new snapshot changed. */
  #snapshotOfValues(): Map<string, string> {
    const out = new Map<string, string>();
    try {
      for (const [key, r] of Object.entries(this.#evaluateAll())) out.set(key, JSON.stringify([r.value, r.variant, r.reason]));
    } catch {
      // A refused context has no values to compare; every flag counts as changed.
    }
    return out;
  }

  #announce(before: Map<string, string>, version: number | null): void {
    const after = this.#snapshotOfValues();
    const keys = new Set([...before.keys(), ...after.keys()]);
    const flags = [...keys].filter((k) => before.get(k) !== after.get(k)).sort();
    if (flags.length > 0) this.#emit('change', { flags, version } satisfies ChangeEvent);
  }

  #emit<E extends keyof ClientEvents>(event: E, payload: ClientEvents[E]): void {
    for (const listener of this.#listeners[event] as Set<Listener<E>>) {
      try {
        listener(payload);
      } catch {
        // A listener's failure must not stop the others or the refresh loop.
      }
    }
  }
}

function trimSlash(url: string): string {
  return url.replace(/\/+$/, '');
}
