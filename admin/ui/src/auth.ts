// Signing in. This is the one module that knows how the dashboard proves who the user
// is; everything else asks it for a `Session`. A person signs in with an email address
// and a password (`POST /v1/auth/login`); the admin answers with an `HttpOnly`,
// `SameSite=Strict` cookie that no script here can read, and with the session's CSRF
// token, which `authorize` sends as `X-CSRF-Token` on every request that changes
// something. Nothing is kept in storage: after a reload, `resume` asks the admin
// (`GET /v1/auth/session`) whether the cookie still holds a session, and gets the token again.

export type Role = 'viewer' | 'editor' | 'admin' | 'owner';
const ORDER: Role[] = ['viewer', 'editor', 'admin', 'owner'];

/** Whether `role` includes `needed` (roles include the weaker ones). */
export function atLeast(role: Role, needed: Role): boolean {
  return ORDER.indexOf(role) >= ORDER.indexOf(needed);
}

export interface Session {
  readonly role: Role;
  /** The organization id. */
  readonly org: string;
  /** Who is signed in, as people read it: `Ada Lovelace <ada@example.com>`. */
  readonly who: string;
  /** The user id (`usr_…`). */
  readonly userId: string;
  /** Adds the CSRF token to a request's headers (the cookie goes by itself). */
  authorize(headers: Headers): Promise<void>;
  /** After a 401: asks once whether the session still lives; false means signed out. */
  renew(): Promise<boolean>;
  /** Ends the session at the admin. */
  signOut(): Promise<void>;
}

export interface Credentials {
  email: string;
  password: string;
}

export class SignInError extends Error {}

/** What the admin answers for a session (sign-in, invitation, `GET /v1/auth/session`). */
export interface SessionAnswer {
  user: { id: string; email: string; name: string };
  organization: { id: string; key: string; name: string };
  role: Role;
  csrfToken: string;
  sessionId: string;
  expiresAt: string;
}

class CookieSession implements Session {
  role: Role;
  readonly org: string;
  readonly who: string;
  readonly userId: string;
  private csrf: string;

  constructor(answer: SessionAnswer) {
    this.role = answer.role;
    this.org = answer.organization.id;
    this.who = `${answer.user.name} <${answer.user.email}>`;
    this.userId = answer.user.id;
    this.csrf = answer.csrfToken;
  }

  async authorize(headers: Headers): Promise<void> {
    headers.set('x-csrf-token', this.csrf);
  }

  async renew(): Promise<boolean> {
    const answer = await current();
    if (!answer) return false;
    this.csrf = answer.csrfToken;
    this.role = answer.role;
    return true;
  }

  async signOut(): Promise<void> {
    await fetch('/v1/auth/logout', { method: 'POST', headers: { 'x-csrf-token': this.csrf } }).catch(() => {});
  }
}

async function current(): Promise<SessionAnswer | null> {
  const res = await fetch('/v1/auth/session', { headers: { accept: 'application/json' } }).catch(() => null);
  return res?.ok ? ((await res.json()) as SessionAnswer) : null;
}

/** Posts a sign-in (or an invitation's acceptance) and makes the session it answers. */
export async function establish(path: string, body: unknown): Promise<Session> {
  const res = await fetch(path, {
    method: 'POST',
    headers: { 'content-type': 'application/json', accept: 'application/json' },
    body: JSON.stringify(body),
  });
  const answer = (await res.json().catch(() => null)) as (SessionAnswer & { error?: { message: string; path?: string } }) | null;
  if (!res.ok || !answer?.csrfToken) {
    throw new SignInError(answer?.error?.message ?? `sign-in failed (${res.status})`);
  }
  return new CookieSession(answer);
}

export async function signIn(credentials: Credentials): Promise<Session> {
  const email = credentials.email.trim();
  if (!email || !credentials.password) throw new SignInError('Enter your email address and your password.');
  return establish('/v1/auth/login', { email, password: credentials.password });
}

/** The session the browser's cookie still holds (after a reload), if any. */
export async function resume(): Promise<Session | null> {
  const answer = await current();
  return answer ? new CookieSession(answer) : null;
}
