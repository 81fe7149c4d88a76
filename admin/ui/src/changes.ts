// "Changes made by others appear without reloading": the dashboard follows the admin's
// change feed (`GET /v1/feed`, Server-Sent Events, the session cookie authenticates it)
// and bumps a counter on every change of the organization; pages reload their data on
// that counter. The browser's `EventSource` reconnects by itself with `Last-Event-ID`, so
// an admin restart loses nothing; a `reset` (the resume point is gone) reloads too. When
// the stream ends because the session did (`end`), or cannot be opened, the page asks
// the session (`renew`) and goes back to sign-in if it is over.

import { useEffect, useState } from 'preact/hooks';
import { currentSession, signalSignedOut } from './api';

let seq = 0;
const listeners = new Set<(n: number) => void>();
let source: EventSource | undefined;
/** The newest event id heard, for tests and for a person reading the page's state. */
let lastEventId = '';

/** Tells every page that something changed (also called after one's own writes). */
export function announce(): void {
  seq += 1;
  for (const l of listeners) l(seq);
}

async function lost(): Promise<void> {
  source?.close();
  source = undefined;
  const session = currentSession();
  if (session && !(await session.renew())) {
    signalSignedOut();
    return;
  }
  // The session lives: the admin was away. Reopen, resuming where the stream was.
  setTimeout(follow, 1000);
}

function follow(): void {
  if (source || !currentSession() || listeners.size === 0) return;
  const url = lastEventId ? `/v1/feed?lastEventId=${encodeURIComponent(lastEventId)}` : '/v1/feed';
  const es = new EventSource(url);
  source = es;
  const heard = (e: MessageEvent) => {
    if (e.lastEventId) lastEventId = e.lastEventId;
    document.documentElement.dataset.feed = lastEventId;
  };
  es.addEventListener('ready', heard);
  es.addEventListener('change', (e) => {
    heard(e);
    announce();
  });
  es.addEventListener('reset', (e) => {
    heard(e);
    announce();
  });
  es.addEventListener('end', () => void lost());
  // EventSource retries a dropped connection by itself; it gives up (CLOSED) only on a
  // refusal such as a 401, which `lost` tells apart from an admin that is away.
  es.onerror = () => {
    if (es.readyState === EventSource.CLOSED) void lost();
  };
}

/** Stops following (signing out). */
export function stopFollowing(): void {
  source?.close();
  source = undefined;
  lastEventId = '';
}

/** A number that grows whenever the organization's data changed. */
export function useChanges(): number {
  const [n, setN] = useState(seq);
  useEffect(() => {
    listeners.add(setN);
    follow();
    return () => {
      listeners.delete(setN);
    };
  }, []);
  return n;
}
