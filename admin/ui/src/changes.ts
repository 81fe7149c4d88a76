// "Changes made by others appear without reloading": until the admin has a change feed,
// the dashboard polls the newest audit entry (one cheap query, readable by every role)
// and bumps a counter whenever it moves; pages reload their data on that counter.
// Every mutation the API offers writes an audit row, so nothing is missed. Polling
// pauses while the tab is hidden. Replace `poll` with the feed's subscription later.

import { useEffect, useState } from 'preact/hooks';
import { currentSession, get } from './api';

const INTERVAL_MS = 2000;
let seq = 0;
let newest: number | undefined;
const listeners = new Set<(n: number) => void>();
let timer: ReturnType<typeof setTimeout> | undefined;
/** True from scheduling a poll until the next one is scheduled: one loop at a time. */
let looping = false;

async function poll(): Promise<void> {
  timer = undefined;
  if (currentSession() && document.visibilityState === 'visible') {
    try {
      const page = await get<{ items: { id: number }[] }>('/v1/audit?limit=1');
      const id = page.items[0]?.id ?? 0;
      if (newest !== undefined && id !== newest) announce();
      newest = id;
    } catch {
      // A failed poll is retried on the next tick; requests of the page report errors.
    }
  }
  if (listeners.size > 0) timer = setTimeout(poll, INTERVAL_MS);
  else looping = false;
}

/** Tells every page that something changed (also called after one's own writes). */
export function announce(): void {
  seq += 1;
  for (const l of listeners) l(seq);
}

/** A number that grows whenever the organization's data changed. */
export function useChanges(): number {
  const [n, setN] = useState(seq);
  useEffect(() => {
    listeners.add(setN);
    if (!looping) {
      looping = true;
      timer = setTimeout(poll, 0);
    }
    return () => {
      listeners.delete(setN);
    };
  }, []);
  return n;
}
