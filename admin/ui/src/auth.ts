// Signing in. This is the one module that knows how the dashboard proves who the user
// is; everything else asks it for a `Session`. Today a person signs in with an API key,
// which is exchanged once for a short-lived access token and a single-use refresh token
// (`POST /v1/auth/token`, `/v1/auth/refresh`): the key itself is never stored, the
// tokens live in `sessionStorage` (this tab only) and the role and organization are
// read from the token's claims. When accounts arrive, a cookie-session implementation
// of the same `Session` interface replaces `ApiKeySession` (email and password sign-in,
// an `HttpOnly` cookie, a CSRF header in `authorize`), and nothing else changes.

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
  /** Who is signed in, for people: an API key id today, an email address later. */
  readonly who: string;
  /** Adds the credential (and later a CSRF token) to a request's headers. */
  authorize(headers: Headers): Promise<void>;
  /** After a 401: tries once to renew the credential; false means signed out. */
  renew(): Promise<boolean>;
  signOut(): void;
}

/** What the sign-in form asks for. Accounts will add `{email, password}`. */
export interface Credentials {
  apiKey: string;
}

export class SignInError extends Error {}

const STORE = 'edgeflag.session';
/** Renew this long before the access token expires. */
const MARGIN_MS = 30_000;

interface Tokens {
  accessToken: string;
  refreshToken: string;
  expiresAt: number;
}

interface Claims {
  sub: string;
  org: string;
  role: Role;
}

function claims(token: string): Claims {
  const part = token.split('.')[1] ?? '';
  const json = atob(part.replace(/-/g, '+').replace(/_/g, '/'));
  return JSON.parse(json) as Claims;
}

async function exchange(path: string, body: unknown): Promise<Tokens> {
  const res = await fetch(path, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  const answer = (await res.json().catch(() => null)) as
    | { accessToken: string; refreshToken: string; expiresIn: number; error?: { message: string } }
    | null;
  if (!res.ok || !answer?.accessToken) {
    throw new SignInError(answer?.error?.message ?? `sign-in failed (${res.status})`);
  }
  return {
    accessToken: answer.accessToken,
    refreshToken: answer.refreshToken,
    expiresAt: Date.now() + answer.expiresIn * 1000,
  };
}

class ApiKeySession implements Session {
  readonly role: Role;
  readonly org: string;
  readonly who: string;
  private renewing: Promise<boolean> | undefined;

  constructor(private tokens: Tokens) {
    const c = claims(tokens.accessToken);
    this.role = c.role;
    this.org = c.org;
    this.who = c.sub;
    sessionStorage.setItem(STORE, JSON.stringify(tokens));
  }

  async authorize(headers: Headers): Promise<void> {
    if (this.tokens.expiresAt - Date.now() < MARGIN_MS) await this.renew();
    headers.set('authorization', `Bearer ${this.tokens.accessToken}`);
  }

  renew(): Promise<boolean> {
    // Refresh tokens work once: concurrent requests share one renewal.
    this.renewing ??= exchange('/v1/auth/refresh', { refreshToken: this.tokens.refreshToken })
      .then((tokens) => {
        this.tokens = tokens;
        sessionStorage.setItem(STORE, JSON.stringify(tokens));
        return true;
      })
      .catch(() => {
        this.signOut();
        return false;
      })
      .finally(() => {
        this.renewing = undefined;
      });
    return this.renewing;
  }

  signOut(): void {
    sessionStorage.removeItem(STORE);
  }
}

export async function signIn(credentials: Credentials): Promise<Session> {
  const key = credentials.apiKey.trim();
  if (!key) throw new SignInError('Enter an API key.');
  return new ApiKeySession(await exchange('/v1/auth/token', { apiKey: key }));
}

/** The session of this tab, if it signed in before a reload. */
export function resume(): Session | null {
  try {
    const text = sessionStorage.getItem(STORE);
    return text ? new ApiKeySession(JSON.parse(text) as Tokens) : null;
  } catch {
    return null;
  }
}
