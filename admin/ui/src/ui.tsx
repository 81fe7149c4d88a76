// Small shared pieces: data loading that follows other people's changes, switches,
// labelled fields, secrets shown once, and status messages.

import type { ComponentChildren } from 'preact';
import { useCallback, useEffect, useRef, useState } from 'preact/hooks';
import { ApiError } from './api';
import { useChanges } from './changes';
import { currentSession } from './api';
import { atLeast, type Role } from './auth';

export interface Resource<T> {
  data: T | undefined;
  error: ApiError | Error | undefined;
  reload: () => void;
}

/**
 * Loads `load()` and loads it again whenever the organization's data changes (see
 * changes.ts), when `deps` change, and every `everyMs` if given. A failed reload
 * keeps the data it had.
 */
export function useResource<T>(load: (() => Promise<T>) | null, deps: unknown[], everyMs?: number): Resource<T> {
  const [data, setData] = useState<T | undefined>(undefined);
  const [error, setError] = useState<ApiError | Error | undefined>(undefined);
  const [tick, setTick] = useState(0);
  const changes = useChanges();
  const generation = useRef(0);
  // A new `deps` is a new resource: forget the old data.
  const key = JSON.stringify(deps);
  const lastKey = useRef(key);
  if (lastKey.current !== key) {
    lastKey.current = key;
    generation.current += 1;
    if (data !== undefined) setData(undefined);
  }
  useEffect(() => {
    if (!load) return;
    const mine = ++generation.current;
    load().then(
      (d) => {
        if (mine !== generation.current) return;
        setData(d);
        setError(undefined);
      },
      (e: Error) => {
        if (mine === generation.current) setError(e);
      },
    );
  }, [key, changes, tick]);
  useEffect(() => {
    if (!everyMs) return;
    const t = setInterval(() => document.visibilityState === 'visible' && setTick((n) => n + 1), everyMs);
    return () => clearInterval(t);
  }, [everyMs]);
  const reload = useCallback(() => setTick((n) => n + 1), []);
  return { data, error, reload };
}

/** Whether the signed-in role may do what needs `role`; edit controls render only then. */
export function useCan(role: Role): boolean {
  const s = currentSession();
  return !!s && atLeast(s.role, role);
}

export function Loading({ what }: { what: string }) {
  return (
    <p class="muted" role="status">
      Loading {what}…
    </p>
  );
}

export function Problem({ error }: { error: unknown }) {
  if (!error) return null;
  const message = error instanceof Error ? error.message : String(error);
  return (
    <p class="problem" role="alert">
      {message}
    </p>
  );
}

/** An on/off switch: one checkbox with the `switch` role, drawn by CSS (one element per switch keeps long lists fast). */
export function Switch(props: { checked: boolean; label: string; onChange: (on: boolean) => void; disabled?: boolean; id?: string }) {
  return (
    <input
      type="checkbox"
      role="switch"
      class="switch"
      id={props.id}
      checked={props.checked}
      disabled={props.disabled}
      aria-label={props.label}
      title={props.label}
      onChange={(e) => props.onChange((e.target as HTMLInputElement).checked)}
    />
  );
}

/** A read-only on/off badge, for people who may not change it. */
export function OnOff({ on, label }: { on: boolean; label?: string }) {
  return (
    <span class={on ? 'badge on' : 'badge off'} aria-label={label ? `${label}: ${on ? 'on' : 'off'}` : undefined}>
      {on ? 'on' : 'off'}
    </span>
  );
}

let ids = 0;
export function useId(prefix = 'f'): string {
  const id = useRef('');
  if (!id.current) id.current = `${prefix}${++ids}`;
  return id.current;
}

/** A label above its control, with an optional hint. */
export function Field(props: { label: string; hint?: string; children: (id: string) => ComponentChildren; class?: string }) {
  const id = useId();
  return (
    <div class={`field ${props.class ?? ''}`}>
      <label for={id}>{props.label}</label>
      {props.children(id)}
      {props.hint && <p class="hint">{props.hint}</p>}
    </div>
  );
}

/** A secret the API shows once: in a read-only field with a copy button. */
export function SecretOnce({ secret, what, onDone }: { secret: string; what: string; onDone: () => void }) {
  const [copied, setCopied] = useState(false);
  const id = useId('secret');
  const ref = useRef<HTMLInputElement>(null);
  useEffect(() => ref.current?.focus(), []);
  return (
    <div class="secret" role="region" aria-label={`New ${what}`}>
      <label for={id}>
        New {what}: <strong>copy it now, it is not shown again.</strong>
      </label>
      <div class="row">
        <input id={id} ref={ref} readOnly value={secret} class="mono" onFocus={(e) => (e.target as HTMLInputElement).select()} />
        <button
          type="button"
          onClick={async () => {
            await navigator.clipboard?.writeText(secret).catch(() => undefined);
            ref.current?.select();
            setCopied(true);
          }}
        >
          {copied ? 'Copied' : 'Copy'}
        </button>
        <button type="button" class="secondary" onClick={onDone}>
          Done
        </button>
      </div>
    </div>
  );
}

// One formatter: `Date.prototype.toLocaleString` builds a new one per call, which made a
// 1,000-row list spend most of its render formatting dates.
const dateTime = new Intl.DateTimeFormat(undefined, { dateStyle: 'medium', timeStyle: 'medium' });

export function when(iso: string | null | undefined): string {
  if (!iso) return '—';
  const d = new Date(iso);
  return Number.isNaN(d.getTime()) ? iso : dateTime.format(d);
}

/** Runs an async action, keeping its error for display and a busy flag. */
export function useAction(): [busy: boolean, error: ApiError | Error | undefined, run: (f: () => Promise<unknown>) => Promise<boolean>, clear: () => void] {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<ApiError | Error | undefined>(undefined);
  const run = async (f: () => Promise<unknown>) => {
    setBusy(true);
    setError(undefined);
    try {
      await f();
      return true;
    } catch (e) {
      setError(e as Error);
      return false;
    } finally {
      setBusy(false);
    }
  };
  return [busy, error, run, () => setError(undefined)];
}

export function Page(props: { title: string; actions?: ComponentChildren; children: ComponentChildren }) {
  useEffect(() => {
    document.title = `${props.title} · Edgeflag`;
  }, [props.title]);
  return (
    <section class="page" aria-labelledby="page-title">
      <header class="page-head">
        <h1 id="page-title" tabIndex={-1}>
          {props.title}
        </h1>
        {props.actions && <div class="actions">{props.actions}</div>}
      </header>
      {props.children}
    </section>
  );
}

