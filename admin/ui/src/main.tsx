// The dashboard's entry: sign-in, the frame (navigation, project picker) and the routes.

import './styles.css';
import { render } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import { get, post, setApiSession } from './api';
import { resume, signIn, type Session, SignInError } from './auth';
import type { Project } from './model';
import { href, match, navigate, useRoute } from './router';
import { Field, Page, Problem, useAction, useCan, useResource } from './ui';
import { FlagList } from './pages/flags';
import { FlagPage, NewFlag } from './pages/flag';
import { History } from './pages/history';
import { SegmentEditor, SegmentList } from './pages/segments';
import { Environments } from './pages/environments';
import { Audit } from './pages/audit';
import { WebhookPage, Webhooks } from './pages/webhooks';
import { ApiKeys } from './pages/keys';
import { Invitation, Sessions, Users } from './pages/users';
import { stopFollowing } from './changes';

function SignIn({ onSession }: { onSession: (s: Session) => void }) {
  const [form, setForm] = useState({ email: '', password: '' });
  const [error, setError] = useState<string | undefined>();
  const [busy, setBusy] = useState(false);
  useEffect(() => {
    document.title = 'Sign in · Edgeflag';
  }, []);
  const submit = async (e: Event) => {
    e.preventDefault();
    setBusy(true);
    setError(undefined);
    try {
      onSession(await signIn(form));
    } catch (err) {
      setError(err instanceof SignInError ? err.message : 'The admin could not be reached.');
    } finally {
      setBusy(false);
    }
  };
  const described = error ? 'signin-error' : undefined;
  return (
    <main class="signin" id="main">
      <form onSubmit={submit} aria-labelledby="signin-title">
        <h1 id="signin-title">Sign in to Edgeflag</h1>
        <div class="field">
          <label for="email">Email</label>
          <input
            id="email"
            type="email"
            autoComplete="username"
            required
            value={form.email}
            aria-invalid={error ? 'true' : undefined}
            aria-describedby={described}
            onInput={(e) => setForm({ ...form, email: e.currentTarget.value })}
            autoFocus
          />
        </div>
        <div class="field">
          <label for="password">Password</label>
          <input
            id="password"
            type="password"
            autoComplete="current-password"
            required
            value={form.password}
            aria-invalid={error ? 'true' : undefined}
            aria-describedby={described ?? 'password-hint'}
            onInput={(e) => setForm({ ...form, password: e.currentTarget.value })}
          />
          <p class="hint" id="password-hint">
            New here? Open the invitation link an admin sent you. Scripts use API keys instead.
          </p>
        </div>
        {error && (
          <p class="problem" id="signin-error" role="alert">
            {error}
          </p>
        )}
        <button type="submit" disabled={busy}>
          {busy ? 'Signing in…' : 'Sign in'}
        </button>
      </form>
    </main>
  );
}

const NAV: [string, string][] = [
  ['flags', 'Flags'],
  ['segments', 'Segments'],
  ['environments', 'Environments'],
];
const ORG_NAV: [string, string][] = [
  ['/audit', 'Audit log'],
  ['/webhooks', 'Webhooks'],
  ['/api-keys', 'API keys'],
  ['/users', 'Users'],
  ['/sessions', 'Your sessions'],
];

function Frame({ session, onSignOut }: { session: Session; onSignOut: () => void }) {
  const path = useRoute();
  const projects = useResource(() => get<{ items: Project[] }>('/v1/projects?limit=200').then((p) => p.items), []);
  const fromPath = /^\/projects\/([^/?]+)/.exec(path)?.[1];
  const project = fromPath ? decodeURIComponent(fromPath) : projects.data?.[0]?.key;
  useEffect(() => {
    if (path === '/' && project) navigate(`/projects/${encodeURIComponent(project)}/flags`);
  }, [path, project]);
  // Moving to a new page moves focus to its heading, as a page load would.
  useEffect(() => {
    document.getElementById('page-title')?.focus({ preventScroll: true });
  }, [path.split('?')[0]]);
  const p = project ? `/projects/${encodeURIComponent(project)}` : '';
  const current = (to: string) => (path === to || path.startsWith(`${to}/`) || path.startsWith(`${to}?`) ? 'page' : undefined);
  return (
    <>
      <a class="skip" href="#main" onClick={(e) => { e.preventDefault(); document.getElementById('page-title')?.focus(); }}>
        Skip to content
      </a>
      <header class="top">
        <a class="brand" href={href('/')}>
          Edgeflag
        </a>
        {!!projects.data?.length && (
          <div class="field inline">
            <label for="project-picker">Project</label>
            {/* `selected` on the option, not `value` on the select: the options arrive after the project is known. */}
            <select id="project-picker" onChange={(e) => navigate(`/projects/${encodeURIComponent(e.currentTarget.value)}/flags`)}>
              {(projects.data ?? []).map((pr) => (
                <option key={pr.key} value={pr.key} selected={pr.key === project}>
                  {pr.name} ({pr.key})
                </option>
              ))}
            </select>
          </div>
        )}
        <div class="who">
          <span>
            {session.who} · <strong>{session.role}</strong>
          </span>
          <button type="button" class="secondary" onClick={onSignOut}>
            Sign out
          </button>
        </div>
      </header>
      <div class="body">
        <nav aria-label="Main">
          <ul>
            {p &&
              NAV.map(([to, label]) => (
                <li key={to}>
                  <a href={href(`${p}/${to}`)} aria-current={current(`${p}/${to}`)}>
                    {label}
                  </a>
                </li>
              ))}
          </ul>
          <ul>
            {ORG_NAV.map(([to, label]) => (
              <li key={to}>
                <a href={href(to)} aria-current={current(to)}>
                  {label}
                </a>
              </li>
            ))}
          </ul>
        </nav>
        <main id="main">
          <Problem error={projects.error} />
          {projects.data && projects.data.length === 0 && !path.startsWith('/projects/') && ORG_NAV.every(([to]) => !path.startsWith(to)) ? (
            <NewProject onDone={(key) => { projects.reload(); navigate(`/projects/${encodeURIComponent(key)}/flags`); }} />
          ) : (
            <Routes path={path} />
          )}
        </main>
      </div>
    </>
  );
}

/** The organization has no project yet: create the first one (admin). */
function NewProject({ onDone }: { onDone: (key: string) => void }) {
  const [form, setForm] = useState({ key: '', name: '' });
  const [busy, error, run] = useAction();
  const canAdmin = useCan('admin');
  return (
    <Page title="No projects yet">
      {!canAdmin ? (
        <p>This organization has no project yet; an admin creates the first one.</p>
      ) : (
        <form
          class="narrow"
          onSubmit={(e) => {
            e.preventDefault();
            run(async () => {
              const p = await post<Project>('/v1/projects', { key: form.key.trim(), name: form.name.trim() || form.key.trim() });
              onDone(p.key);
            });
          }}
        >
          <p>Flags, segments and environments belong to a project. Create the first one.</p>
          <Field label="Key">{(id) => <input id={id} class="mono" required value={form.key} onInput={(e) => setForm({ ...form, key: e.currentTarget.value })} />}</Field>
          <Field label="Name">{(id) => <input id={id} value={form.name} onInput={(e) => setForm({ ...form, name: e.currentTarget.value })} />}</Field>
          <Problem error={error} />
          <button type="submit" disabled={busy}>
            Create project
          </button>
        </form>
      )}
    </Page>
  );
}

function Routes({ path }: { path: string }) {
  let m: Record<string, string> | null;
  if ((m = match('/projects/:project/flags', path))) return <FlagList project={m.project!} path={path} />;
  if ((m = match('/projects/:project/flags/new', path))) return <NewFlag project={m.project!} />;
  if ((m = match('/projects/:project/flags/:flag/history', path))) return <History project={m.project!} flag={m.flag!} />;
  if ((m = match('/projects/:project/flags/:flag', path))) return <FlagPage project={m.project!} flag={m.flag!} />;
  if ((m = match('/projects/:project/segments', path))) return <SegmentList project={m.project!} />;
  if ((m = match('/projects/:project/segments/new', path))) return <SegmentEditor project={m.project!} />;
  if ((m = match('/projects/:project/segments/:segment', path))) return <SegmentEditor project={m.project!} segment={m.segment!} />;
  if ((m = match('/projects/:project/environments', path))) return <Environments project={m.project!} />;
  if (match('/audit', path)) return <Audit path={path} />;
  if (match('/webhooks', path)) return <Webhooks />;
  if ((m = match('/webhooks/:id', path))) return <WebhookPage id={m.id!} />;
  if (match('/api-keys', path)) return <ApiKeys />;
  if (match('/users', path)) return <Users />;
  if (match('/sessions', path)) return <Sessions />;
  if (path === '/') return <p class="muted">Loading projects…</p>;
  return (
    <section class="page">
      <h1 id="page-title" tabIndex={-1}>
        Not found
      </h1>
      <p>
        Nothing lives at <code>{path}</code>. <a href={href('/')}>Go to the flags.</a>
      </p>
    </section>
  );
}

function App() {
  // `undefined` while the admin is asked whether the cookie still holds a session.
  const [session, setSession] = useState<Session | null | undefined>(undefined);
  const path = useRoute();
  useEffect(() => {
    resume().then(setSession, () => setSession(null));
  }, []);
  const signedOut = () => {
    stopFollowing();
    setSession(null);
  };
  setApiSession(session ?? null, signedOut);
  const invitation = match('/invitation/:token', path);
  if (invitation) {
    return (
      <Invitation
        token={invitation.token!}
        onSession={(s) => {
          setApiSession(s, signedOut);
          setSession(s);
          navigate('/');
        }}
      />
    );
  }
  if (session === undefined) {
    return (
      <main id="main">
        <p class="muted" role="status">
          Loading…
        </p>
      </main>
    );
  }
  if (!session) {
    return (
      <SignIn
        onSession={(s) => {
          setApiSession(s, signedOut);
          setSession(s);
        }}
      />
    );
  }
  return (
    <Frame
      session={session}
      onSignOut={() => {
        void session.signOut().then(() => {
          signedOut();
          navigate('/');
        });
      }}
    />
  );
}

const root = document.getElementById('app')!;
// The page's "Loading…" line is static HTML: replace it, not append to it.
root.textContent = '';
render(<App />, root);
