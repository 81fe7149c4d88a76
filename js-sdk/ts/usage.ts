// Evaluation counts (issue 16): the client counts its local evaluations per flag,
// variant, reason and minute, and sends them to the edge with its client key — on an
// interval, and with `navigator.sendBeacon` when the page is hidden — which adds them
// to its own counts for the admin. Counting is a Map update; nothing is sent while
// there is nothing counted.

/** One count as the edge's `POST /v1/usage/{client-key}` takes it. */
export interface UsageCount {
  flag: string;
  variant?: string;
  reason: string;
  time: number;
  count: number;
}

/** The most counts one report carries (the edge refuses more). */
const MAX_COUNTS = 1000;

export class UsageCounter {
  #counts = new Map<string, UsageCount>();

  record(flag: string, variant: string | undefined, reason: string, nowMs: number): void {
    const time = nowMs - (nowMs % 60_000);
    const id = JSON.stringify([flag, variant ?? null, reason, time]);
    const known = this.#counts.get(id);
    if (known !== undefined) known.count += 1;
    else this.#counts.set(id, variant === undefined ? { flag, reason, time, count: 1 } : { flag, variant, reason, time, count: 1 });
  }

  get size(): number {
    return this.#counts.size;
  }

  /** Takes up to one report's worth of counts. */
  take(): UsageCount[] {
    const out: UsageCount[] = [];
    for (const [id, count] of this.#counts) {
      if (out.length >= MAX_COUNTS) break;
      out.push(count);
      this.#counts.delete(id);
    }
    return out;
  }

  /** Puts back counts whose send failed, so the next send carries them. */
  restore(counts: UsageCount[]): void {
    for (const c of counts) {
      const id = JSON.stringify([c.flag, c.variant ?? null, c.reason, c.time]);
      const known = this.#counts.get(id);
      if (known !== undefined) known.count += c.count;
      else this.#counts.set(id, { ...c });
    }
  }
}

/** Sends counts to `url` (`{edge}/v1/usage/{clientKey}`): a beacon when asked and available, else `fetch`. */
export async function sendCounts(
  url: string,
  counts: UsageCount[],
  fetcher: typeof fetch,
  beacon: boolean,
): Promise<boolean> {
  // text/plain keeps it a simple CORS request (no preflight), which a beacon needs.
  const body = JSON.stringify({ counts });
  const nav = globalThis.navigator as { sendBeacon?: (url: string, data: Blob) => boolean } | undefined;
  if (beacon && typeof nav?.sendBeacon === 'function') {
    return nav.sendBeacon(url, new Blob([body], { type: 'text/plain' }));
  }
  try {
    const res = await fetcher(url, { method: 'POST', headers: { 'content-type': 'text/plain' }, body, keepalive: true });
    return res.ok;
  } catch {
    return false;
  }
}
