// People: the organization's members and their roles, invitations (the link shown once),
// accepting an invitation, and one's own sessions with "sign out everywhere".
// Mirrors admin-core's `users.rs`, `invitations.rs` and `sessions.rs`.

import { useEffect, useState } from 'preact/hooks';
import { del, enc, get, patch, post, signalSignedOut } from '../api';
import { establish, type Role, type Session, SignInError } from '../auth';
import { announce } from '../changes';
import { currentSession } from '../api';
import { Field, Loading, Page, Problem, SecretOnce, useAction, useCan, useResource, when } from '../ui';

const ROLES: Role[] = ['viewer', 'editor', 'admin', 'owner'];

interface Member {
  id: string;
  email: string;
  name: string;
  role: Role;
  joinedAt: string;
}

interface InvitationView {
  id: string;
  email: string;
  role: Role;
  state: string;
  createdBy: string;
  expiresAt: string;
  token?: string;
  url?: string;
}

interface SessionView {
  id: string;
  createdAt: string;
  lastSeenAt: string;
  expiresAt: string;
  idleExpiresAt: string;
  userAgent: string;
  address: string;
  current: boolean;
}

export function Users() {
  const canAdmin = useCan('admin');
  const canOwn = useCan('owner');
  const members = useResource(() => get<{ items: Member[] }>('/v1/users').then((r) => r.items), []);
  const [busy, error, run] = useAction();
  const me = currentSession()?.userId;
  const roles = ROLES.filter((r) => r !== 'owner' || canOwn);
  return (
    <Page title="Users">
      <p class="hint">People sign in with their email address and password; each has one of the four roles in this organization, as API keys do.</p>
      <Problem error={members.error} />
      <Problem error={error} />
      {!members.data ? (
        <Loading what="users" />
      ) : (
        <table class="list">
          <thead>
            <tr>
              <th scope="col">Name</th>
              <th scope="col">Email</th>
              <th scope="col">Role</th>
              <th scope="col">Joined</th>
              {canAdmin && <th scope="col">Remove</th>}
            </tr>
          </thead>
          <tbody>
            {members.data.map((m) => {
              // An admin neither promotes to nor demotes from owner; nobody edits themselves here.
              const editable = canAdmin && m.id !== me && (m.role !== 'owner' || canOwn);
              return (
                <tr key={m.id}>
                  <th scope="row">{m.name}</th>
                  <td>{m.email}</td>
                  <td>
                    {editable ? (
                      <select
                        aria-label={`Role of ${m.email}`}
                        disabled={busy}
                        onChange={(e) => {
                          const role = e.currentTarget.value;
                          void run(() => patch(`/v1/users/${enc(m.id)}`, { role }).then(() => { members.reload(); announce(); }));
                        }}
                      >
                        {roles.map((r) => (
                          <option key={r} value={r} selected={r === m.role}>
                            {r}
                          </option>
                        ))}
                      </select>
                    ) : (
                      m.role
                    )}
                  </td>
                  <td class="small">{when(m.joinedAt)}</td>
                  {canAdmin && (
                    <td>
                      {editable && (
                        <button
                          type="button"
                          class="secondary small danger"
                          disabled={busy}
                          onClick={() => confirm(`Remove ${m.email} from the organization?`) && run(() => del(`/v1/users/${enc(m.id)}`).then(() => { members.reload(); announce(); }))}
                        >
                          Remove {m.email}
                        </button>
                      )}
                    </td>
                  )}
                </tr>
              );
            })}
          </tbody>
        </table>
      )}
      {canAdmin ? <Invitations roles={roles} /> : <p>Inviting people needs the admin role.</p>}
    </Page>
  );
}

function Invitations({ roles }: { roles: Role[] }) {
  const invitations = useResource(() => get<{ items: InvitationView[] }>('/v1/invitations').then((r) => r.items), []);
  const [busy, error, run] = useAction();
  const [link, setLink] = useState<string | null>(null);
  const [form, setForm] = useState({ email: '', role: 'viewer' });
  return (
    <>
      <h2>Invitations</h2>
      <Problem error={invitations.error} />
      <Problem error={error} />
      {link && <SecretOnce secret={link} what="invitation link" onDone={() => setLink(null)} />}
      {invitations.data && invitations.data.length > 0 && (
        <table class="list">
          <thead>
            <tr>
              <th scope="col">Email</th>
              <th scope="col">Role</th>
              <th scope="col">State</th>
              <th scope="col">Invited by</th>
              <th scope="col">Expires</th>
              <th scope="col">Revoke</th>
            </tr>
          </thead>
          <tbody>
            {invitations.data.map((i) => (
              <tr key={i.id}>
                <th scope="row">{i.email}</th>
                <td>{i.role}</td>
                <td>{i.state}</td>
                <td class="small">{i.createdBy}</td>
                <td class="small">{when(i.expiresAt)}</td>
                <td>
                  {i.state === 'pending' && (
                    <button
                      type="button"
                      class="secondary small danger"
                      disabled={busy}
                      onClick={() => run(() => del(`/v1/invitations/${enc(i.id)}`).then(() => { invitations.reload(); announce(); }))}
                    >
                      Revoke invitation of {i.email}
                    </button>
                  )}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      <form
        class="card"
        aria-labelledby="invite-title"
        onSubmit={(e) => {
          e.preventDefault();
          void run(async () => {
            const i = await post<InvitationView>('/v1/invitations', { email: form.email.trim(), role: form.role });
            setLink(i.url ?? null);
            setForm({ email: '', role: 'viewer' });
            invitations.reload();
            announce();
          });
        }}
      >
        <h2 id="invite-title">Invite someone</h2>
        <p class="hint">The link works once, until it expires. Send it to them yourself: the admin sends no email.</p>
        <div class="row gap">
          <Field label="Email">{(id) => <input id={id} type="email" required value={form.email} onInput={(e) => setForm({ ...form, email: e.currentTarget.value })} />}</Field>
          <Field label="Role">
            {(id) => (
              <select id={id} value={form.role} onChange={(e) => setForm({ ...form, role: e.currentTarget.value })}>
                {roles.map((r) => (
                  <option key={r} value={r}>
                    {r}
                  </option>
                ))}
              </select>
            )}
          </Field>
        </div>
        <button type="submit" disabled={busy}>
          Create invitation
        </button>
      </form>
    </>
  );
}

/** One's own sessions: where one is signed in, ending one, or all. */
export function Sessions() {
  const sessions = useResource(() => get<{ items: SessionView[] }>('/v1/auth/sessions').then((r) => r.items), []);
  const [busy, error, run] = useAction();
  const out = () => signalSignedOut();
  return (
    <Page
      title="Your sessions"
      actions={
        <button
          type="button"
          class="secondary danger"
          disabled={busy}
          onClick={() => confirm('Sign out of every browser, this one included?') && run(() => del('/v1/auth/sessions').then(out))}
        >
          Sign out everywhere
        </button>
      }
    >
      <p class="hint">Every browser signed in as you. A session ends after a while without use, and at the latest at the time shown.</p>
      <Problem error={sessions.error} />
      <Problem error={error} />
      {!sessions.data ? (
        <Loading what="sessions" />
      ) : (
        <table class="list">
          <thead>
            <tr>
              <th scope="col">Browser</th>
              <th scope="col">Address</th>
              <th scope="col">Signed in</th>
              <th scope="col">Last used</th>
              <th scope="col">Ends at the latest</th>
              <th scope="col">Sign out</th>
            </tr>
          </thead>
          <tbody>
            {sessions.data.map((s) => (
              <tr key={s.id}>
                <th scope="row">
                  {s.userAgent || 'unknown'} {s.current && <strong>(this browser)</strong>}
                </th>
                <td class="mono small">{s.address || '—'}</td>
                <td class="small">{when(s.createdAt)}</td>
                <td class="small">{when(s.lastSeenAt)}</td>
                <td class="small">{when(s.expiresAt)}</td>
                <td>
                  <button
                    type="button"
                    class="secondary small"
                    disabled={busy}
                    onClick={() => run(() => del(`/v1/auth/sessions/${enc(s.id)}`).then(() => (s.current ? out() : sessions.reload())))}
                  >
                    Sign out session {s.id}
                  </button>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      <PasswordChange onChanged={() => sessions.reload()} />
    </Page>
  );
}

/** Changing one's own password: the current one is needed; other sessions end. */
function PasswordChange({ onChanged }: { onChanged: () => void }) {
  const [form, setForm] = useState({ current: '', next: '', again: '' });
  const [busy, error, run, clear] = useAction();
  const [done, setDone] = useState(false);
  const mismatch = form.again !== '' && form.next !== form.again;
  const submit = async (e: Event) => {
    e.preventDefault();
    setDone(false);
    if (mismatch) return;
    const ok = await run(() => post('/v1/me/password', { currentPassword: form.current, newPassword: form.next }));
    if (ok) {
      setForm({ current: '', next: '', again: '' });
      setDone(true);
      onChanged();
    }
  };
  const set = (field: keyof typeof form) => (e: { currentTarget: HTMLInputElement }) => {
    clear();
    setDone(false);
    setForm({ ...form, [field]: e.currentTarget.value });
  };
  return (
    <section aria-labelledby="password-title">
      <h2 id="password-title">Change your password</h2>
      <p class="hint">Your other sessions end; this one stays signed in.</p>
      <form class="grid2 narrow" onSubmit={submit}>
        <Field label="Current password">
          {(id) => <input id={id} type="password" autocomplete="current-password" required value={form.current} onInput={set('current')} />}
        </Field>
        <span />
        <Field label="New password" hint="At least 12 characters.">
          {(id) => <input id={id} type="password" autocomplete="new-password" required value={form.next} onInput={set('next')} />}
        </Field>
        <Field label="New password again">
          {(id) => (
            <>
              <input id={id} type="password" autocomplete="new-password" required value={form.again} aria-invalid={mismatch || undefined} aria-describedby={mismatch ? `${id}-mismatch` : undefined} onInput={set('again')} />
              {mismatch && (
                <p class="field-error" id={`${id}-mismatch`} role="alert">
                  The two new passwords differ.
                </p>
              )}
            </>
          )}
        </Field>
        <div>
          <button type="submit" disabled={busy || mismatch}>
            {busy ? 'Changing…' : 'Change password'}
          </button>
        </div>
      </form>
      <Problem error={error} />
      {done && (
        <p class="notice" role="status">
          Your password is changed; your other sessions have ended.
        </p>
      )}
    </section>
  );
}

interface Offer {
  email: string;
  role: Role;
  organization: string;
  organizationName: string;
  expiresAt: string;
  existingAccount: boolean;
}

/** The page an invitation link opens: what it offers, then a name and password. */
export function Invitation({ token, onSession }: { token: string; onSession: (s: Session) => void }) {
  const [offer, setOffer] = useState<Offer | null | undefined>(undefined);
  const [problem, setProblem] = useState<string | undefined>();
  const [form, setForm] = useState({ name: '', password: '' });
  const [busy, setBusy] = useState(false);
  useEffect(() => {
    document.title = 'Invitation · Edgeflag';
    fetch('/v1/invitations/inspect', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ token }) })
      .then(async (res) => {
        const body = (await res.json()) as Offer & { error?: { message: string } };
        if (res.ok) setOffer(body);
        else {
          setOffer(null);
          setProblem(body.error?.message ?? `the admin answered ${res.status}`);
        }
      })
      .catch(() => {
        setOffer(null);
        setProblem('The admin could not be reached.');
      });
  }, [token]);
  const submit = async (e: Event) => {
    e.preventDefault();
    setBusy(true);
    setProblem(undefined);
    try {
      onSession(await establish('/v1/invitations/accept', { token, name: offer?.existingAccount ? undefined : form.name, password: form.password }));
    } catch (err) {
      setProblem(err instanceof SignInError ? err.message : 'The admin could not be reached.');
    } finally {
      setBusy(false);
    }
  };
  return (
    <main class="signin" id="main">
      <form onSubmit={submit} aria-labelledby="invitation-title">
        <h1 id="invitation-title">Join Edgeflag</h1>
        {offer === undefined && <p role="status">Reading the invitation…</p>}
        {offer && (
          <>
            <p>
              <strong>{offer.email}</strong> is invited to <strong>{offer.organizationName}</strong> as <strong>{offer.role}</strong>. The link works until{' '}
              {when(offer.expiresAt)}.
            </p>
            {!offer.existingAccount && (
              <Field label="Your name">{(id) => <input id={id} required autoComplete="name" value={form.name} onInput={(e) => setForm({ ...form, name: e.currentTarget.value })} />}</Field>
            )}
            <Field label={offer.existingAccount ? 'Your password' : 'Choose a password'} hint={offer.existingAccount ? 'This address has an account: give its password.' : 'At least 12 characters; a few words with spaces work well.'}>
              {(id) => (
                <input
                  id={id}
                  type="password"
                  required
                  autoComplete={offer.existingAccount ? 'current-password' : 'new-password'}
                  value={form.password}
                  onInput={(e) => setForm({ ...form, password: e.currentTarget.value })}
                />
              )}
            </Field>
          </>
        )}
        {problem && (
          <p class="problem" role="alert">
            {problem}
          </p>
        )}
        {offer && (
          <button type="submit" disabled={busy}>
            {busy ? 'Joining…' : 'Accept the invitation'}
          </button>
        )}
        {offer === null && (
          <p>
            <a href="#/">Go to sign-in</a>
          </p>
        )}
      </form>
    </main>
  );
}
