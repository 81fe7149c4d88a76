// Environments of a project, each with its SDK keys (create, rotate with a grace period,
// revoke; a new secret is shown once) and its publish status per edge target.

import { useState } from 'preact/hooks';
import { all, enc, get, post } from '../api';
import { announce } from '../changes';
import type { Environment, PublishStatus, SdkKey } from '../model';
import { Field, Loading, Page, Problem, SecretOnce, useAction, useCan, useResource, when } from '../ui';
import { useEnvironments } from './flags';

export function Environments({ project }: { project: string }) {
  const envs = useEnvironments(project);
  const canAdmin = useCan('admin');
  return (
    <Page title="Environments">
      <Problem error={envs.error} />
      {!envs.data ? <Loading what="environments" /> : envs.data.map((e) => <EnvironmentCard key={e.key} project={project} env={e} />)}
      {canAdmin && <NewEnvironment project={project} onDone={envs.reload} />}
    </Page>
  );
}

function NewEnvironment({ project, onDone }: { project: string; onDone: () => void }) {
  const [form, setForm] = useState({ key: '', name: '', edgeName: '' });
  const [busy, error, run] = useAction();
  return (
    <form
      class="card"
      aria-labelledby="new-env-title"
      onSubmit={(e) => {
        e.preventDefault();
        run(async () => {
          await post(`/v1/projects/${enc(project)}/environments`, { key: form.key.trim(), name: form.name.trim() || form.key.trim(), ...(form.edgeName ? { edgeName: form.edgeName.trim() } : {}) });
          setForm({ key: '', name: '', edgeName: '' });
          onDone();
          announce();
        });
      }}
    >
      <h2 id="new-env-title">New environment</h2>
      <div class="row gap">
        <Field label="Key">{(id) => <input id={id} class="mono" required value={form.key} onInput={(e) => setForm({ ...form, key: e.currentTarget.value })} />}</Field>
        <Field label="Name">{(id) => <input id={id} value={form.name} onInput={(e) => setForm({ ...form, name: e.currentTarget.value })} />}</Field>
        <Field label="Edge name" hint={`Default ${project}-<key>.`}>
          {(id) => <input id={id} class="mono" value={form.edgeName} onInput={(e) => setForm({ ...form, edgeName: e.currentTarget.value })} />}
        </Field>
      </div>
      <Problem error={error} />
      <button type="submit" disabled={busy}>
        Create environment
      </button>
    </form>
  );
}

function EnvironmentCard({ project, env }: { project: string; env: Environment }) {
  const base = `/v1/projects/${enc(project)}/environments/${enc(env.key)}`;
  return (
    <section class="card env-card" aria-labelledby={`env-${env.key}`}>
      <h2 id={`env-${env.key}`}>
        {env.name} <span class="mono small">{env.key}</span>
      </h2>
      <p class="muted small">
        Edge name <span class="mono">{env.edgeName}</span> · snapshot version {env.snapshotVersion} · created {when(env.createdAt)}
      </p>
      <PublishStatusView base={base} env={env.key} />
      <SdkKeys base={base} env={env.key} />
    </section>
  );
}

function PublishStatusView({ base, env }: { base: string; env: string }) {
  const status = useResource(() => get<PublishStatus>(`${base}/publish-status`), [base]);
  const canEdit = useCan('editor');
  const [busy, error, run] = useAction();
  const s = status.data;
  return (
    <div>
      <h3>Publish status</h3>
      <Problem error={status.error ?? error} />
      {!s ? (
        <Loading what="publish status" />
      ) : (
        <>
          <p class="small">
            Latest snapshot version {s.latestVersion}
            {s.pendingChanges > 0 ? ` · ${s.pendingChanges} change(s) waiting to be published` : ''}
          </p>
          {s.targets.length === 0 ? (
            <p class="muted small">No publish targets are configured.</p>
          ) : (
            <table class="list">
              <caption class="visually-hidden">Publish status of {env} per target</caption>
              <thead>
                <tr>
                  <th scope="col">Target</th>
                  <th scope="col">Kind</th>
                  <th scope="col">Delivered</th>
                  <th scope="col">Attempts</th>
                  <th scope="col">Last error</th>
                  <th scope="col">Delivered at</th>
                </tr>
              </thead>
              <tbody>
                {s.targets.map((t) => (
                  <tr key={t.name} class={t.deliveredVersion >= s.latestVersion ? 'ok' : 'behind'}>
                    <th scope="row">{t.name}</th>
                    <td>{t.kind}</td>
                    <td>
                      {t.deliveredVersion} of {s.latestVersion}
                      <span class={t.deliveredVersion >= s.latestVersion ? 'badge on' : 'badge warn'}>{t.deliveredVersion >= s.latestVersion ? 'up to date' : 'behind'}</span>
                    </td>
                    <td>{t.attempts}</td>
                    <td class="small">{t.lastError ?? '—'}</td>
                    <td class="small">{when(t.deliveredAt)}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          )}
          {canEdit && (
            <button type="button" class="secondary small" disabled={busy} onClick={() => run(() => post(`${base}/publish`).then(status.reload))}>
              Republish {env}
            </button>
          )}
        </>
      )}
    </div>
  );
}

function SdkKeys({ base, env }: { base: string; env: string }) {
  const keys = useResource(() => all<SdkKey>(`${base}/sdk-keys`), [base]);
  const canAdmin = useCan('admin');
  const [secret, setSecret] = useState<{ value: string; what: string } | null>(null);
  const [grace, setGrace] = useState('86400');
  const [busy, error, run] = useAction();
  const act = (f: () => Promise<SdkKey | void>, what?: string) =>
    run(async () => {
      const k = await f();
      if (k && k.secret) setSecret({ value: k.secret, what: what ?? `${k.kind} SDK key` });
      keys.reload();
      announce();
    });
  const state = (k: SdkKey) => (k.revokedAt ? 'revoked' : k.expiresAt ? (new Date(k.expiresAt) > new Date() ? 'in grace period' : 'expired') : 'active');
  return (
    <div>
      <h3>SDK keys</h3>
      <Problem error={keys.error ?? error} />
      {secret && <SecretOnce secret={secret.value} what={secret.what} onDone={() => setSecret(null)} />}
      {keys.data && keys.data.length === 0 && <p class="muted small">No SDK keys yet.</p>}
      {keys.data && keys.data.length > 0 && (
        <table class="list">
          <caption class="visually-hidden">SDK keys of {env}</caption>
          <thead>
            <tr>
              <th scope="col">Key</th>
              <th scope="col">Kind</th>
              <th scope="col">State</th>
              <th scope="col">Created</th>
              <th scope="col">Expires</th>
              {canAdmin && (
                <th scope="col">
                  <span class="visually-hidden">Actions</span>
                </th>
              )}
            </tr>
          </thead>
          <tbody>
            {keys.data.map((k) => (
              <tr key={k.id}>
                <th scope="row" class="mono">
                  {k.prefix}…
                </th>
                <td>{k.kind}</td>
                <td>{state(k)}</td>
                <td class="small">{when(k.createdAt)}</td>
                <td class="small">{when(k.expiresAt)}</td>
                {canAdmin && (
                  <td>
                    {state(k) === 'active' && (
                      <>
                        <button type="button" class="secondary small" disabled={busy} onClick={() => act(() => post<SdkKey>(`${base}/sdk-keys/${enc(k.id)}/rotate`, { graceSeconds: Number(grace) || 0 }), `${k.kind} SDK key (replaces ${k.prefix}…)`)}>
                          Rotate {k.prefix}…
                        </button>{' '}
                      </>
                    )}
                    {!k.revokedAt && (
                      <button type="button" class="secondary small danger" disabled={busy} onClick={() => confirm(`Revoke ${k.prefix}… at once? Clients using it stop working.`) && act(() => post(`${base}/sdk-keys/${enc(k.id)}/revoke`).then(() => undefined))}>
                        Revoke {k.prefix}…
                      </button>
                    )}
                  </td>
                )}
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {canAdmin && (
        <div class="row gap">
          <button type="button" class="secondary" disabled={busy} onClick={() => act(() => post<SdkKey>(`${base}/sdk-keys`, { kind: 'server' }))}>
            New server key
          </button>
          <button type="button" class="secondary" disabled={busy} onClick={() => act(() => post<SdkKey>(`${base}/sdk-keys`, { kind: 'client' }))}>
            New client key
          </button>
          <Field label="Grace on rotate (seconds)" class="inline">
            {(id) => <input id={id} type="number" min={0} value={grace} onInput={(e) => setGrace(e.currentTarget.value)} />}
          </Field>
        </div>
      )}
    </div>
  );
}
