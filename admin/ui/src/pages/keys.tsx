// API keys of the organization (create with the secret shown once, revoke): for scripts
// and CI. People have accounts (pages/users.tsx).

import { useState } from 'preact/hooks';
import { ApiError, del, enc, get, post } from '../api';
import { announce } from '../changes';
import type { ApiKey } from '../model';
import { Field, Loading, Page, Problem, SecretOnce, useAction, useCan, useResource, when } from '../ui';

const ROLES = ['viewer', 'editor', 'admin', 'owner'];

export function ApiKeys() {
  const canAdmin = useCan('admin');
  const canOwn = useCan('owner');
  const keys = useResource(canAdmin ? () => get<{ items: ApiKey[] }>('/v1/api-keys').then((r) => r.items) : null, [canAdmin]);
  const [busy, error, run] = useAction();
  const [secret, setSecret] = useState<string | null>(null);
  const [form, setForm] = useState({ name: '', role: 'viewer' });
  if (!canAdmin) {
    return (
      <Page title="API keys">
        <p>Listing and creating API keys needs the admin role.</p>
      </Page>
    );
  }
  return (
    <Page title="API keys">
      <p class="hint">Keys for scripts and CI; people sign in with their own accounts (Users). A key's role decides what it may do.</p>
      <Problem error={keys.error instanceof ApiError && keys.error.status === 403 ? undefined : keys.error} />
      <Problem error={error} />
      {secret && <SecretOnce secret={secret} what="API key" onDone={() => setSecret(null)} />}
      {!keys.data ? (
        <Loading what="API keys" />
      ) : (
        <table class="list">
          <thead>
            <tr>
              <th scope="col">Name</th>
              <th scope="col">Key</th>
              <th scope="col">Role</th>
              <th scope="col">Created</th>
              <th scope="col">Last used</th>
              <th scope="col">State</th>
            </tr>
          </thead>
          <tbody>
            {keys.data.map((k) => (
              <tr key={k.id}>
                <th scope="row">
                  {k.name} <span class="mono small">{k.id}</span>
                </th>
                <td class="mono">{k.prefix}…</td>
                <td>{k.role}</td>
                <td class="small">{when(k.createdAt)}</td>
                <td class="small">{when(k.lastUsedAt)}</td>
                <td>
                  {k.revokedAt ? (
                    `revoked ${when(k.revokedAt)}`
                  ) : (
                    <button
                      type="button"
                      class="secondary small danger"
                      disabled={busy || (k.role === 'owner' && !canOwn)}
                      onClick={() => confirm(`Revoke the key “${k.name}” at once?`) && run(() => del(`/v1/api-keys/${enc(k.id)}`).then(() => { keys.reload(); announce(); }))}
                    >
                      Revoke {k.name}
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
        aria-labelledby="new-key-title"
        onSubmit={(e) => {
          e.preventDefault();
          run(async () => {
            const k = await post<ApiKey>('/v1/api-keys', form);
            setSecret(k.secret ?? null);
            setForm({ name: '', role: 'viewer' });
            keys.reload();
            announce();
          });
        }}
      >
        <h2 id="new-key-title">New API key</h2>
        <div class="row gap">
          <Field label="Name">{(id) => <input id={id} required value={form.name} onInput={(e) => setForm({ ...form, name: e.currentTarget.value })} />}</Field>
          <Field label="Role">
            {(id) => (
              <select id={id} value={form.role} onChange={(e) => setForm({ ...form, role: e.currentTarget.value })}>
                {ROLES.filter((r) => r !== 'owner' || canOwn).map((r) => (
                  <option key={r} value={r}>
                    {r}
                  </option>
                ))}
              </select>
            )}
          </Field>
        </div>
        <button type="submit" disabled={busy}>
          Create API key
        </button>
      </form>
    </Page>
  );
}
