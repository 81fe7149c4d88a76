// Live updates: one Server-Sent Events stream from the edge (OFREP ADR-0008), whose
// `refetchEvaluation` events tell the client to fetch its snapshot again. Browsers use
// `EventSource`; node and Workers (no `EventSource`, or a custom `fetch`) read the
// stream with a streaming `fetch`. An Edgeflag edge's events also carry the signed client
// snapshot they announce (`clientSnapshot`), which the client verifies like a fetched one
// instead of fetching it: every answer still comes from a verified snapshot.

/** What the stream reports to its owner. */
export interface StreamEvents {
  /**
   * A `refetchEvaluation` event; `version` is the snapshot version it announces, if known,
   * and `snapshot` the signed client snapshot it carries, if any (still to be verified).
   */
  refetch(version: number | undefined, snapshot: string | undefined): void;
  /** The stream is connected (again): catch up on anything missed while it was down. */
  up(): void;
  /**
   * The stream is down; it will retry by itself. `status` is the HTTP status that
   * refused it, when known (`EventSource` does not tell); `refused` is true when the
   * connection failed before it opened (a refused token, say), rather than dropped.
   */
  down(status: number | undefined, refused: boolean): void;
}

export interface StreamOptions {
  fetch: typeof fetch;
  /** Random number in [0, 1), for jittered backoff. */
  random: () => number;
  /** Use `EventSource` rather than a streaming fetch. */
  eventSource: boolean;
}

/** Reconnection delays: exponential from the server's `retry:` (or 1 s), capped, with jitter. */
const BASE_MS = 1000;
const CAP_MS = 30_000;

/** Parses one SSE event block (the text between blank lines) into its id and data. */
export function parseEvent(block: string): { id?: string; data: string; retry?: number } {
  let id: string | undefined;
  let retry: number | undefined;
  const data: string[] = [];
  for (const line of block.split(/\r\n|\r|\n/)) {
    if (line === '' || line.startsWith(':')) continue;
    const colon = line.indexOf(':');
    const field = colon < 0 ? line : line.slice(0, colon);
    let value = colon < 0 ? '' : line.slice(colon + 1);
    if (value.startsWith(' ')) value = value.slice(1);
    if (field === 'data') data.push(value);
    else if (field === 'id') id = value;
    else if (field === 'retry' && /^\d+$/.test(value)) retry = Number(value);
  }
  return { id, data: data.join('\n'), retry };
}

/**
 * What a `refetchEvaluation` event announces: the version, if known, and the signed
 * client snapshot it carries, if any; `null` for other events.
 */
export function refetchOf(data: string, id: string | undefined): { version: number | undefined; snapshot: string | undefined } | null {
  try {
    const event = JSON.parse(data) as { type?: unknown; etag?: unknown; clientSnapshot?: unknown };
    if (event.type !== 'refetchEvaluation') return null;
    const fromId = id !== undefined && /^\d+$/.test(id) ? Number(id) : undefined;
    const fromEtag = typeof event.etag === 'string' ? Number(event.etag.replace(/^W\//, '').replaceAll('"', '')) : NaN;
    const version = fromId ?? (Number.isSafeInteger(fromEtag) ? fromEtag : undefined);
    const snapshot = typeof event.clientSnapshot === 'string' && event.clientSnapshot !== '' ? event.clientSnapshot : undefined;
    return { version, snapshot };
  } catch {
    return null;
  }
}

/** One event stream, kept open with backoff and jitter until `close()`. */
export class EventStream {
  #url: string;
  readonly #events: StreamEvents;
  readonly #options: StreamOptions;
  #lastEventId: string | undefined;
  #retryMs = BASE_MS;
  #failures = 0;
  #timer: ReturnType<typeof setTimeout> | undefined;
  #source: EventSource | undefined;
  #abort: AbortController | undefined;
  #closed = false;
  #up = false;

  constructor(url: string, events: StreamEvents, options: StreamOptions) {
    this.#url = url;
    this.#events = events;
    this.#options = options;
    this.#connect();
  }

  get url(): string {
    return this.#url;
  }

  get connected(): boolean {
    return this.#up;
  }

  /** Points the stream at a new URL (a fresh token); reconnects only if it changed. */
  retarget(url: string): void {
    if (url === this.#url) return;
    this.#url = url;
    this.#teardown();
    this.#connect();
  }

  close(): void {
    this.#closed = true;
    this.#teardown();
  }

  #teardown(): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#source?.close();
    this.#source = undefined;
    this.#abort?.abort();
    this.#abort = undefined;
  }

  #connect(): void {
    if (this.#closed) return;
    if (this.#options.eventSource) this.#openEventSource();
    else void this.#openFetch();
  }

  #opened(): void {
    this.#failures = 0;
    if (!this.#up) {
      this.#up = true;
      this.#events.up();
    }
  }

  #message(data: string, id: string | undefined): void {
    if (id !== undefined) this.#lastEventId = id;
    const refetch = refetchOf(data, id);
    if (refetch !== null) this.#events.refetch(refetch.version, refetch.snapshot);
  }

  /** The stream ended or failed: report it and try again after a jittered backoff. */
  #lost(status: number | undefined): void {
    this.#teardown();
    if (this.#closed) return;
    const refused = !this.#up;
    this.#up = false;
    this.#events.down(status, refused);
    const exponential = Math.min(CAP_MS, this.#retryMs * 2 ** Math.min(this.#failures, 8));
    this.#failures += 1;
    // Half fixed, half random: clients cut off together do not return together.
    const delay = exponential / 2 + this.#options.random() * (exponential / 2);
    this.#timer = setTimeout(() => this.#connect(), delay);
    (this.#timer as { unref?: () => void }).unref?.();
  }

  #openEventSource(): void {
    // EventSource reconnects by itself after a network error (sending Last-Event-ID);
    // it gives up on an HTTP error, and then this class takes over.
    const source = new EventSource(this.#url);
    this.#source = source;
    source.onopen = () => this.#opened();
    source.onmessage = (e: MessageEvent) => this.#message(String(e.data), e.lastEventId || undefined);
    source.onerror = () => {
      if (source.readyState === EventSource.CLOSED) this.#lost(undefined);
      else if (this.#up) {
        this.#up = false;
        this.#events.down(undefined, false);
      }
    };
  }

  async #openFetch(): Promise<void> {
    const abort = new AbortController();
    this.#abort = abort;
    const headers: Record<string, string> = { accept: 'text/event-stream' };
    if (this.#lastEventId !== undefined) headers['last-event-id'] = this.#lastEventId;
    let res: Response;
    try {
      res = await this.#options.fetch(this.#url, { headers, signal: abort.signal });
    } catch {
      if (this.#abort === abort) this.#lost(undefined);
      return;
    }
    if (!res.ok || res.body === null) {
      await res.body?.cancel().catch(() => {});
      if (this.#abort === abort) this.#lost(res.status);
      return;
    }
    this.#opened();
    try {
      await this.#read(res.body, abort.signal);
    } catch {
      // A network error or an abort: either way the stream is over.
    }
    if (this.#abort === abort) this.#lost(undefined);
  }

  async #read(body: ReadableStream<Uint8Array>, signal: AbortSignal): Promise<void> {
    const reader = body.getReader();
    const decoder = new TextDecoder();
    let buffer = '';
    while (!signal.aborted) {
      const { done, value } = await reader.read();
      if (done) return;
      buffer += decoder.decode(value, { stream: true });
      const blocks = buffer.split(/\r\n\r\n|\n\n|\r\r/);
      buffer = blocks.pop() ?? '';
      for (const block of blocks) {
        const event = parseEvent(block);
        if (event.retry !== undefined) this.#retryMs = Math.max(100, event.retry);
        if (event.data !== '' || event.id !== undefined) this.#message(event.data, event.id);
      }
    }
  }
}
