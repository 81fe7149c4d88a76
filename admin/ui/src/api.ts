// The REST API, as every other client uses it: one error shape, cursor pagination.
// The browser sends the session cookie; the session (auth.ts) adds the CSRF token. A 401
// asks once whether the session still lives (a refused CSRF token is renewed so), then
// goes back to sign-in.

import type { Session } from './auth';

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    /** A JSON Pointer into the request body, on validation errors. */
    readonly path?: string,
  ) {
    super(message);
  }
}

let session: Session | null = null;
let signedOut: () => void = () => {};

export function setApiSession(s: Session | null, onSignedOut: () => void): void {
  session = s;
  signedOut = onSignedOut;
}

/** Back to sign-in: the session is over (a 401, or the change feed ended with it). */
export function signalSignedOut(): void {
  signedOut();
}

export function currentSession(): Session | null {
  return session;
}

async function send(method: string, path: string, body: unknown, retry: boolean): Promise<Response> {
  if (!session) throw new ApiError(401, 'UNAUTHORIZED', 'not signed in');
  const headers = new Headers({ accept: 'application/json' });
  if (body !== undefined) headers.set('content-type', 'application/json');
  await session.authorize(headers);
  const res = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  if (res.status === 401 && retry && (await session.renew())) return send(method, path, body, false);
  if (res.status === 401) signedOut();
  return res;
}

export async function request<T>(method: string, path: string, body?: unknown): Promise<T> {
  const res = await send(method, path, body, true);
  const text = await res.text();
  const json = text ? (JSON.parse(text) as unknown) : null;
  if (!res.ok) {
    const e = (json as { error?: { code: string; message: string; path?: string } } | null)?.error;
    throw new ApiError(res.status, e?.code ?? 'HTTP', e?.message ?? `${method} ${path} answered ${res.status}`, e?.path);
  }
  return json as T;
}

export const get = <T>(path: string) => request<T>('GET', path);
export const post = <T>(path: string, body?: unknown) => request<T>('POST', path, body ?? {});
export const put = <T>(path: string, body: unknown) => request<T>('PUT', path, body);
export const patch = <T>(path: string, body: unknown) => request<T>('PATCH', path, body);
export const del = <T>(path: string) => request<T>('DELETE', path);

export interface Page<T> {
  items: T[];
  nextCursor?: string | null;
}

/** Every item of a paginated list, following `nextCursor` 200 at a time. */
export async function all<T>(path: string): Promise<T[]> {
  const items: T[] = [];
  let cursor: string | null | undefined;
  const sep = path.includes('?') ? '&' : '?';
  do {
    const page = await get<Page<T>>(`${path}${sep}limit=200${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`);
    items.push(...page.items);
    cursor = page.nextCursor;
  } while (cursor);
  return items;
}

export const enc = encodeURIComponent;
