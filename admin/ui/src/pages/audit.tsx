// The audit log with its filters (actor, action or family, resource prefix, time range),
// newest first, with each entry's before and after documents.

import { useEffect, useRef, useState } from 'preact/hooks';
import { get } from '../api';
import type { AuditEntry } from '../model';
import { navigate, query } from '../router';
import { Field, Loading, Page, Problem, useResource, when } from '../ui';
import { DiffTable } from './history';
import { diff } from '../diff';

const FILTERS = ['actor', 'action', 'resource', 'from', 'to'] as const;
type Filters = Record<(typeof FILTERS)[number], string>;

/** `datetime-local` text (local time) as RFC 3339, which the API takes. */
function rfc3339(local: string): string {
  const d = new Date(local);
  return Number.isNaN(d.getTime()) ? local : d.toISOString();
}

export function Audit({ path }: { path: string }) {
  const q = query(path);
  const applied = Object.fromEntries(FILTERS.map((f) => [f, q.get(f) ?? ''])) as Filters;
  const [form, setForm] = useState<Filters>(applied);
  const [pages, setPages] = useState<string[]>([]);
  // The form follows the URL when it changes (back, forward, a link), not on the first
  // render: the state starts from it already, and resetting it after mount would drop
  // what someone typed in the moment before the effect ran.
  const shown = useRef(path);
  useEffect(() => {
    if (shown.current === path) return;
    shown.current = path;
    setForm(applied);
  }, [path]);
  const params = new URLSearchParams();
  for (const f of FILTERS) if (applied[f]) params.set(f, f === 'from' || f === 'to' ? rfc3339(applied[f]) : applied[f]);
  const first = useResource(() => get<{ items: AuditEntry[]; nextCursor?: string | null }>(`/v1/audit?limit=50&${params}`), [params.toString()]);
  const [more, setMore] = useState<AuditEntry[]>([]);
  const [cursor, setCursor] = useState<string | null | undefined>();
  const [error, setError] = useState<Error>();
  useEffect(() => {
    setMore([]);
    setCursor(first.data?.nextCursor);
    setPages([]);
  }, [first.data]);
  const loadMore = async () => {
    if (!cursor) return;
    try {
      const page = await get<{ items: AuditEntry[]; nextCursor?: string | null }>(`/v1/audit?limit=50&${params}&cursor=${encodeURIComponent(cursor)}`);
      setMore([...more, ...page.items]);
      setPages([...pages, cursor]);
      setCursor(page.nextCursor);
    } catch (e) {
      setError(e as Error);
    }
  };
  const entries = [...(first.data?.items ?? []), ...more];
  return (
    <Page title="Audit log">
      <form
        class="filters"
        role="search"
        aria-label="Filter the audit log"
        onSubmit={(e) => {
          e.preventDefault();
          const p = new URLSearchParams();
          for (const f of FILTERS) if (form[f]) p.set(f, form[f]);
          navigate(`/audit${p.toString() ? `?${p}` : ''}`);
        }}
      >
        <Field label="Actor" hint="Key id or name, any part.">{(id) => <input id={id} value={form.actor} onInput={(e) => setForm({ ...form, actor: e.currentTarget.value })} />}</Field>
        <Field label="Action" hint="flag.on, or a family: flag.*">{(id) => <input id={id} class="mono" value={form.action} onInput={(e) => setForm({ ...form, action: e.currentTarget.value })} />}</Field>
        <Field label="Resource" hint="Prefix, e.g. project/web/flag/">{(id) => <input id={id} class="mono" value={form.resource} onInput={(e) => setForm({ ...form, resource: e.currentTarget.value })} />}</Field>
        <Field label="From">{(id) => <input id={id} type="datetime-local" value={form.from} onInput={(e) => setForm({ ...form, from: e.currentTarget.value })} />}</Field>
        <Field label="To">{(id) => <input id={id} type="datetime-local" value={form.to} onInput={(e) => setForm({ ...form, to: e.currentTarget.value })} />}</Field>
        <div class="field">
          <button type="submit">Filter</button>
        </div>
      </form>
      <Problem error={first.error ?? error} />
      {!first.data ? (
        <Loading what="the audit log" />
      ) : entries.length === 0 ? (
        <p class="muted">No entries match.</p>
      ) : (
        <ol class="audit">
          {entries.map((e) => (
            <li key={e.id} class="card">
              <details>
                <summary>
                  <span class="mono">{e.action}</span> <span class="mono small">{e.resource}</span>
                  <span class="small muted">
                    {' '}
                    by {e.actor} · {when(e.at)}
                  </span>
                </summary>
                <p class="small muted">Request {e.requestId ?? '—'}</p>
                {e.before !== null || e.after !== null ? <DiffTable changes={diff(e.before, e.after)} /> : <p class="muted small">No documents recorded.</p>}
              </details>
            </li>
          ))}
        </ol>
      )}
      {cursor && (
        <button type="button" class="secondary" onClick={loadMore}>
          Older entries
        </button>
      )}
    </Page>
  );
}
