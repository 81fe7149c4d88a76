// Webhooks (create with the secret shown once, enable, disable) and their delivery log.

import { useState } from 'preact/hooks';
import { del, enc, get, patch, post } from '../api';
import { announce } from '../changes';
import type { Delivery, Webhook } from '../model';
import { href } from '../router';
import { Field, Loading, OnOff, Page, Problem, SecretOnce, Switch, useAction, useCan, useResource, when } from '../ui';

export function Webhooks() {
  const hooks = useResource(() => get<{ items: Webhook[] }>('/v1/webhooks').then((r) => r.items), []);
  const canAdmin = useCan('admin');
  const [busy, error, run] = useAction();
  const [secret, setSecret] = useState<string | null>(null);
  const [form, setForm] = useState({ url: '', events: 'flag.*', project: '', description: '' });
  const create = (e: Event) => {
    e.preventDefault();
    run(async () => {
      const events = form.events.split(',').map((s) => s.trim()).filter(Boolean);
      const w = await post<Webhook>('/v1/webhooks', {
        url: form.url.trim(),
        events,
        ...(form.project.trim() ? { project: form.project.trim() } : {}),
        ...(form.description ? { description: form.description } : {}),
      });
      setSecret(w.secret ?? null);
      setForm({ url: '', events: 'flag.*', project: '', description: '' });
      hooks.reload();
      announce();
    });
  };
  return (
    <Page title="Webhooks">
      <Problem error={hooks.error ?? error} />
      {secret && <SecretOnce secret={secret} what="webhook signing secret" onDone={() => setSecret(null)} />}
      {!hooks.data ? (
        <Loading what="webhooks" />
      ) : hooks.data.length === 0 ? (
        <p class="muted">No webhooks.</p>
      ) : (
        <table class="list">
          <thead>
            <tr>
              <th scope="col">URL</th>
              <th scope="col">Events</th>
              <th scope="col">Project</th>
              <th scope="col">Enabled</th>
              <th scope="col">Deliveries</th>
            </tr>
          </thead>
          <tbody>
            {hooks.data.map((w) => (
              <tr key={w.id}>
                <th scope="row" class="mono small">
                  {w.url}
                  {w.description && <span class="small muted"> {w.description}</span>}
                </th>
                <td class="mono small">{w.events.join(', ')}</td>
                <td>{w.project ?? 'all'}</td>
                <td>
                  {canAdmin ? (
                    <Switch
                      checked={w.enabled}
                      label={`Webhook ${w.url} enabled`}
                      disabled={busy}
                      onChange={(on) => run(() => (on ? patch(`/v1/webhooks/${enc(w.id)}`, { enabled: true }) : del(`/v1/webhooks/${enc(w.id)}`)).then(() => { hooks.reload(); announce(); }))}
                    />
                  ) : (
                    <OnOff on={w.enabled} />
                  )}
                </td>
                <td>
                  <a href={href(`/webhooks/${enc(w.id)}`)}>Delivery log</a>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {canAdmin && (
        <form class="card" onSubmit={create} aria-labelledby="new-hook-title">
          <h2 id="new-hook-title">New webhook</h2>
          <div class="grid2">
            <Field label="URL">{(id) => <input id={id} type="url" required value={form.url} onInput={(e) => setForm({ ...form, url: e.currentTarget.value })} />}</Field>
            <Field label="Events" hint="Comma-separated: *, flag.*, or exact actions such as flag.on.">
              {(id) => <input id={id} class="mono" value={form.events} onInput={(e) => setForm({ ...form, events: e.currentTarget.value })} />}
            </Field>
            <Field label="Project" hint="Empty: every project of the organization.">{(id) => <input id={id} class="mono" value={form.project} onInput={(e) => setForm({ ...form, project: e.currentTarget.value })} />}</Field>
            <Field label="Description">{(id) => <input id={id} value={form.description} onInput={(e) => setForm({ ...form, description: e.currentTarget.value })} />}</Field>
          </div>
          <button type="submit" disabled={busy}>
            Create webhook
          </button>
        </form>
      )}
    </Page>
  );
}

export function WebhookPage({ id }: { id: string }) {
  const hook = useResource(() => get<Webhook>(`/v1/webhooks/${enc(id)}`), [id]);
  const deliveries = useResource(() => get<{ items: Delivery[] }>(`/v1/webhooks/${enc(id)}/deliveries?limit=100`).then((r) => r.items), [id], 3000);
  return (
    <Page
      title="Webhook deliveries"
      actions={
        <a class="button secondary" href={href('/webhooks')}>
          All webhooks
        </a>
      }
    >
      {hook.data && (
        <p class="muted">
          <span class="mono">{hook.data.url}</span> · {hook.data.enabled ? 'enabled' : 'disabled'} · events {hook.data.events.join(', ')}
        </p>
      )}
      <Problem error={hook.error ?? deliveries.error} />
      {!deliveries.data ? (
        <Loading what="deliveries" />
      ) : deliveries.data.length === 0 ? (
        <p class="muted">Nothing delivered yet.</p>
      ) : (
        <table class="list">
          <thead>
            <tr>
              <th scope="col">Event</th>
              <th scope="col">Status</th>
              <th scope="col">Attempts</th>
              <th scope="col">Response</th>
              <th scope="col">Last error</th>
              <th scope="col">Created</th>
              <th scope="col">Next attempt</th>
            </tr>
          </thead>
          <tbody>
            {deliveries.data.map((d) => (
              <tr key={d.id}>
                <th scope="row">
                  <span class="mono">{d.event}</span> <span class="mono small">{d.eventId}</span>
                </th>
                <td>
                  <span class={`badge ${d.status === 'delivered' ? 'on' : d.status === 'failed' ? 'bad' : 'warn'}`}>{d.status}</span>
                </td>
                <td>{d.attempts}</td>
                <td>{d.responseCode ?? '—'}</td>
                <td class="small">{d.lastError ?? '—'}</td>
                <td class="small">{when(d.createdAt)}</td>
                <td class="small">{when(d.nextAttemptAt)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </Page>
  );
}
