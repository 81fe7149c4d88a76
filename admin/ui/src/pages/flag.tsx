// One flag: its definition (name, description, tags, client visibility, salt,
// variations with typed value editors, metadata) and its targeting per environment, edited as a
// draft that "Evaluate as" previews; Save sends what changed (PATCH for the definition,
// PUT per changed environment). A change saved by someone else appears at once when the
// draft is clean, or is announced when it is not.

import { useEffect, useMemo, useState } from 'preact/hooks';
import { all, ApiError, enc, get, patch, post, put } from '../api';
import { announce } from '../changes';
import { ErrorSummary, Errors, type FieldError, FieldMessage, flagPointer, useInvalid } from '../errors';
import type { EnvConfig, FlagDoc, FlagView, Json, SegmentView, ValueType, Variation } from '../model';
import { href, navigate } from '../router';
import { defaultEnvConfig } from '../snapshot';
import { Field, Loading, Page, Problem, useAction, useCan, useId, useResource } from '../ui';
import { EvaluateAs, usePreview } from './evaluate';
import { Metadata } from './metadata';
import { useEnvironments } from './flags';
import { EnvTargeting } from './targeting';
import { FlagUsageCard, useLastEvaluated } from './usage';
import { ValueEditor } from './values';

const DEFINITION_FIELDS = ['name', 'description', 'variations', 'tags', 'clientVisible', 'salt', 'metadata'] as const;

function docOf(v: FlagView): FlagDoc {
  const { version: _v, archived: _a, createdAt: _c, updatedAt: _u, ...doc } = v;
  return structuredClone(doc);
}

const same = (a: unknown, b: unknown) => JSON.stringify(a) === JSON.stringify(b);

/** Renames a variation everywhere the targeting names it. */
function renameVariation(doc: FlagDoc, from: string, to: string): FlagDoc {
  const next = structuredClone(doc);
  const fix = (s: { variation?: string; rollout?: { variations: { variation: string }[] } }) => {
    if (s.variation === from) s.variation = to;
    for (const w of s.rollout?.variations ?? []) if (w.variation === from) w.variation = to;
  };
  for (const env of Object.values(next.environments)) {
    if (env.offVariation === from) env.offVariation = to;
    for (const t of env.targets) if (t.variation === from) t.variation = to;
    for (const r of env.rules) fix(r.serve);
    fix(env.defaultRule);
  }
  return next;
}

function useProjectData(project: string) {
  const flags = useResource(() => all<FlagView>(`/v1/projects/${enc(project)}/flags?archived=all`), [project]);
  const segments = useResource(() => all<SegmentView>(`/v1/projects/${enc(project)}/segments`), [project]);
  const envs = useEnvironments(project);
  return { flags, segments, envs };
}

export function FlagPage({ project, flag }: { project: string; flag: string }) {
  const base = `/v1/projects/${enc(project)}/flags/${enc(flag)}`;
  const saved = useResource(() => get<FlagView>(base), [base]);
  const { flags, segments, envs } = useProjectData(project);
  const lastEvaluated = useLastEvaluated(project);
  const [draft, setDraft] = useState<FlagDoc | null>(null);
  const [from, setFrom] = useState<FlagView | undefined>();
  const [serverErrors, setServerErrors] = useState<FieldError[]>([]);
  const [tab, setTab] = useState<string | undefined>();
  const [busy, actionError, run, clearError] = useAction();
  const [notice, setNotice] = useState<string | undefined>();
  const canEdit = useCan('editor');

  const dirty = !!draft && !!from && !same(draft, docOf(from));
  // Take the saved flag when there is no draft yet, or the draft has no edits.
  useEffect(() => {
    const s = saved.data;
    if (!s) return;
    if (!draft || !from || !dirty) {
      setDraft(docOf(s));
      setFrom(s);
      setNotice(undefined);
    } else if (s.version !== from.version) {
      setNotice(`Version ${s.version} was saved by someone else while you edit. Saving writes your draft over the parts you changed.`);
    }
  }, [saved.data]);
  useEffect(() => {
    if (!tab && envs.data?.[0]) setTab(envs.data[0].key);
  }, [envs.data]);

  const preview = usePreview(draft, saved.data, flags.data, segments.data, envs.data);
  // The admin validates with the same engine: a message both give is shown once.
  const errors = useMemo(() => {
    const all = [...serverErrors, ...(preview.engines?.warnings ?? [])];
    return all.filter((e, i) => all.findIndex((x) => x.path === e.path && x.message === e.message) === i);
  }, [serverErrors, preview.engines?.warnings]);

  if (saved.error instanceof ApiError && saved.error.status === 404) {
    return (
      <Page title="Flag not found">
        <p>
          There is no flag <code>{flag}</code> in project <code>{project}</code>. <a href={href(`/projects/${enc(project)}/flags`)}>Back to the flags</a>
        </p>
      </Page>
    );
  }
  if (!draft || !from || !envs.data) {
    return (
      <Page title={flag}>
        <Problem error={saved.error ?? envs.error} />
        <Loading what="the flag" />
      </Page>
    );
  }
  const s = saved.data ?? from;
  const edit = (f: (d: FlagDoc) => FlagDoc) => setDraft((d) => (d ? f(d) : d));
  const setEnv = (env: string, c: EnvConfig) => edit((d) => ({ ...d, environments: { ...d.environments, [env]: c } }));

  const save = () =>
    run(async () => {
      setServerErrors([]);
      let latest: FlagView | undefined;
      const definition: Record<string, unknown> = {};
      for (const k of DEFINITION_FIELDS) if (!same(draft[k], from[k])) definition[k] = draft[k];
      // No metadata left is sent as an empty map: a member left out is not changed.
      if ('metadata' in definition && definition.metadata === undefined) definition.metadata = {};
      try {
        if (Object.keys(definition).length > 0) latest = await patch<FlagView>(base, definition);
        for (const env of Object.keys(draft.environments)) {
          const mine = draft.environments[env];
          if (mine && !same(mine, from.environments[env])) {
            try {
              latest = await put<FlagView>(`${base}/environments/${enc(env)}`, mine);
            } catch (e) {
              if (e instanceof ApiError && e.path !== undefined) e.message = `${e.message}`;
              throw Object.assign(e as Error, { env });
            }
          }
        }
      } catch (e) {
        const env = (e as { env?: string }).env;
        if (e instanceof ApiError && e.path !== undefined) {
          // Shown at the field and in the summary; no banner besides.
          setServerErrors([{ path: flagPointer(e.path, env), message: e.message, source: 'server' }]);
          return;
        }
        throw e;
      } finally {
        if (latest) {
          setFrom(latest);
          saved.reload();
          flags.reload();
          announce();
        }
      }
      if (latest) {
        setDraft(docOf(latest));
        setNotice(`Saved as version ${latest.version}.`);
      }
    });

  const archive = (on: boolean) =>
    run(async () => {
      await post<FlagView>(`${base}/${on ? 'archive' : 'restore'}`);
      saved.reload();
      announce();
    });

  const disabled = !canEdit || s.archived;
  const env = tab && draft.environments[tab] ? tab : envs.data[0]?.key;
  return (
    <Errors.Provider value={errors}>
      <Page
        title={draft.name || draft.key}
        actions={
          <>
            <a class="button secondary" href={href(`/projects/${enc(project)}/flags/${enc(flag)}/history`)}>
              History
            </a>
            {canEdit && (
              <button type="button" class="secondary" disabled={busy} onClick={() => archive(!s.archived)}>
                {s.archived ? 'Restore flag' : 'Archive flag'}
              </button>
            )}
          </>
        }
      >
        <p class="muted">
          <span class="mono">{draft.key}</span> · {draft.type} · version {s.version}
          {s.archived && <span class="badge">archived</span>}
        </p>
        {notice && (
          <p class="notice" role="status">
            {notice}
          </p>
        )}
        <Problem error={actionError} />
        <ErrorSummary errors={errors} title={errors.some((e) => e.source === 'server') ? 'The admin refused the change' : 'The engine would refuse this draft'} />
        {canEdit && !s.archived && (
          <div class="savebar" role="region" aria-label="Save">
            <span class="muted">{dirty ? 'Unsaved changes.' : 'No unsaved changes.'}</span>
            <button type="button" class="secondary" disabled={!dirty || busy} onClick={() => { setDraft(docOf(s)); setFrom(s); setServerErrors([]); setNotice(undefined); clearError(); }}>
              Discard
            </button>
            <button type="button" disabled={!dirty || busy} onClick={save}>
              {busy ? 'Saving…' : 'Save'}
            </button>
          </div>
        )}
        <div class="flag-layout">
          <div class="flag-main">
            <fieldset disabled={disabled} class="plain">
              <legend class="visually-hidden">Flag definition</legend>
              <Definition draft={draft} edit={edit} disabled={disabled} />
              <Variations draft={draft} edit={edit} disabled={disabled} />
              <Metadata draft={draft} edit={edit} disabled={disabled} />
            </fieldset>
            <h2>Targeting</h2>
            {/* Outside the fieldsets: a viewer switches environments too. */}
            <div role="tablist" aria-label="Environments" class="tabs">
              {envs.data.map((e) => {
                const changed = !same(draft.environments[e.key], from.environments[e.key]);
                return (
                  <button
                    type="button"
                    role="tab"
                    key={e.key}
                    id={`tab-${e.key}`}
                    aria-selected={e.key === env}
                    aria-controls={`panel-${e.key}`}
                    tabIndex={e.key === env ? 0 : -1}
                    onClick={() => setTab(e.key)}
                    onKeyDown={(ev) => {
                      const i = envs.data!.findIndex((x) => x.key === e.key);
                      const to = ev.key === 'ArrowRight' ? i + 1 : ev.key === 'ArrowLeft' ? i - 1 : null;
                      if (to === null) return;
                      const next = envs.data![(to + envs.data!.length) % envs.data!.length]!;
                      setTab(next.key);
                      document.getElementById(`tab-${next.key}`)?.focus();
                    }}
                  >
                    {e.key}
                    {draft.environments[e.key]?.enabled ? ' · on' : ' · off'}
                    {changed ? ' •' : ''}
                    {changed && <span class="visually-hidden"> (changed)</span>}
                  </button>
                );
              })}
            </div>
            {env && (
              <div role="tabpanel" id={`panel-${env}`} aria-labelledby={`tab-${env}`}>
                <fieldset disabled={disabled} class="plain">
                  <legend class="visually-hidden">Targeting in {env}</legend>
                  <EnvTargeting
                    env={env}
                    config={draft.environments[env] ?? defaultEnvConfig(draft)}
                    variations={draft.variations}
                    flagKey={draft.key}
                    flags={flags.data ?? []}
                    segments={(segments.data ?? []).filter((x) => !x.archived)}
                    disabled={disabled}
                    onChange={(c) => setEnv(env, c)}
                  />
                </fieldset>
              </div>
            )}
          </div>
          <aside class="flag-side">
            <EvaluateAs flagKey={draft.key} envs={envs.data} engines={preview.engines} draft={draft} saved={docOf(s)} error={preview.error} dirty={dirty} />
            <FlagUsageCard project={project} flag={flag} envs={envs.data} last={lastEvaluated.byFlag.get(flag)} />
          </aside>
        </div>
      </Page>
    </Errors.Provider>
  );
}

function Definition({ draft, edit, disabled }: { draft: FlagDoc; edit: (f: (d: FlagDoc) => FlagDoc) => void; disabled: boolean }) {
  const set = (patch: Partial<FlagDoc>) => edit((d) => ({ ...d, ...patch }));
  return (
    <div class="grid2">
      <Field label="Name">{(id) => <input id={id} value={draft.name} {...useInvalid('/name')} onInput={(e) => set({ name: e.currentTarget.value })} />}</Field>
      <Field label="Tags" hint="Comma-separated.">
        {(id) => (
          <input id={id} value={draft.tags.join(', ')} {...useInvalid('/tags')} onChange={(e) => set({ tags: e.currentTarget.value.split(',').map((t) => t.trim()).filter(Boolean) })} />
        )}
      </Field>
      <Field label="Description" class="span2">
        {(id) => <textarea id={id} rows={2} value={draft.description} {...useInvalid('/description')} onInput={(e) => set({ description: e.currentTarget.value })} />}
      </Field>
      <div class="field">
        <label class="check">
          <input type="checkbox" checked={draft.clientVisible} disabled={disabled} data-ptr="/clientVisible" onChange={(e) => set({ clientVisible: e.currentTarget.checked })} />
          Client-visible (goes into the browser snapshot)
        </label>
      </div>
      <Field label="Salt" hint="Mixed into bucketing; changing it reshuffles every rollout of the flag. Empty means the key.">
        {(id) => (
          <input
            id={id}
            class="mono"
            value={draft.salt ?? ''}
            placeholder={draft.key}
            {...useInvalid('/salt')}
            onInput={(e) => {
              const v = e.currentTarget.value;
              edit((d) => {
                const { salt: _, ...rest } = d;
                return v ? { ...rest, salt: v } : rest;
              });
            }}
          />
        )}
      </Field>
      <FieldMessage ptr="/name" />
    </div>
  );
}

function Variations({ draft, edit, disabled }: { draft: FlagDoc; edit: (f: (d: FlagDoc) => FlagDoc) => void; disabled: boolean }) {
  const setVariations = (variations: Variation[]) => edit((d) => ({ ...d, variations }));
  const fresh = (): Json => ({ boolean: false, string: '', number: 0, object: {} })[draft.type];
  return (
    <section aria-labelledby="variations-title" data-ptr="/variations" tabIndex={-1}>
      <h2 id="variations-title">Variations</h2>
      <FieldMessage ptr="/variations" exact />
      <table class="list variations">
        <thead>
          <tr>
            <th scope="col">Key (variant)</th>
            <th scope="col">Value ({draft.type})</th>
            <th scope="col">
              <span class="visually-hidden">Actions</span>
            </th>
          </tr>
        </thead>
        <tbody>
          {draft.variations.map((v, i) => (
            <VariationRow
              key={i}
              index={i}
              variation={v}
              type={draft.type}
              disabled={disabled}
              onKey={(key) =>
                edit((d) => {
                  const next = renameVariation(d, v.key, key);
                  next.variations = d.variations.map((x, j) => (j === i ? { ...x, key } : x));
                  return next;
                })
              }
              onValue={(value) => setVariations(draft.variations.map((x, j) => (j === i ? { ...x, value } : x)))}
              onRemove={draft.variations.length > 1 ? () => setVariations(draft.variations.filter((_, j) => j !== i)) : undefined}
            />
          ))}
        </tbody>
      </table>
      {!disabled && (
        <button type="button" class="secondary" onClick={() => setVariations([...draft.variations, { key: `variation-${draft.variations.length + 1}`, value: fresh() }])}>
          Add variation
        </button>
      )}
    </section>
  );
}

function VariationRow(props: { index: number; variation: Variation; type: ValueType; disabled: boolean; onKey: (k: string) => void; onValue: (v: Json) => void; onRemove?: () => void }) {
  const { index: i, variation: v } = props;
  const keyId = useId('vk');
  const valueId = useId('vv');
  return (
    <tr>
      <td>
        <label for={keyId} class="visually-hidden">
          Key of variation {i + 1}
        </label>
        <input id={keyId} class="mono" value={v.key} disabled={props.disabled} {...useInvalid(`/variations/${i}/key`)} onChange={(e) => props.onKey(e.currentTarget.value)} />
        <FieldMessage ptr={`/variations/${i}/key`} />
      </td>
      <td>
        <label for={valueId} class="visually-hidden">
          Value of variation {v.key}
        </label>
        <ValueEditor id={valueId} type={props.type} value={v.value} ptr={`/variations/${i}/value`} disabled={props.disabled} label={`Value of ${v.key}`} onChange={props.onValue} />
      </td>
      <td>
        {!props.disabled && props.onRemove && (
          <button type="button" class="secondary small" aria-label={`Remove variation ${v.key}`} onClick={props.onRemove}>
            Remove
          </button>
        )}
      </td>
    </tr>
  );
}

const STARTERS: Record<ValueType, Variation[]> = {
  boolean: [
    { key: 'on', value: true },
    { key: 'off', value: false },
  ],
  string: [
    { key: 'a', value: 'a' },
    { key: 'b', value: 'b' },
  ],
  number: [
    { key: 'low', value: 0 },
    { key: 'high', value: 1 },
  ],
  object: [
    { key: 'default', value: {} },
    { key: 'variant', value: { enabled: true } },
  ],
};

export function NewFlag({ project }: { project: string }) {
  const [form, setForm] = useState({ key: '', name: '', type: 'boolean' as ValueType, tags: '', description: '', clientVisible: false });
  const [errors, setErrors] = useState<FieldError[]>([]);
  const [busy, error, run] = useAction();
  const canEdit = useCan('editor');
  const create = (e: Event) => {
    e.preventDefault();
    setErrors([]);
    run(async () => {
      try {
        const flag = await post<FlagView>(`/v1/projects/${enc(project)}/flags`, {
          key: form.key.trim(),
          name: form.name.trim() || form.key.trim(),
          description: form.description,
          type: form.type,
          variations: STARTERS[form.type],
          tags: form.tags.split(',').map((t) => t.trim()).filter(Boolean),
          clientVisible: form.clientVisible,
        });
        announce();
        navigate(`/projects/${enc(project)}/flags/${enc(flag.key)}`);
      } catch (err) {
        if (err instanceof ApiError && err.path !== undefined) setErrors([{ path: flagPointer(err.path), message: err.message, source: 'server' }]);
        throw err;
      }
    });
  };
  if (!canEdit) return <Page title="New flag"><p>Creating flags needs the editor role.</p></Page>;
  return (
    <Errors.Provider value={errors}>
      <Page title="New flag">
        <form class="narrow" onSubmit={create}>
          <Problem error={errors.length ? undefined : error} />
          <Field label="Key" hint="1–64 of A–Z a–z 0–9 . _ -, starting with a letter or digit. It cannot change later.">
            {(id) => <input id={id} class="mono" required value={form.key} {...useInvalid('/key')} onInput={(e) => setForm({ ...form, key: e.currentTarget.value })} />}
          </Field>
          <FieldMessage ptr="/key" />
          <Field label="Name">{(id) => <input id={id} value={form.name} {...useInvalid('/name')} onInput={(e) => setForm({ ...form, name: e.currentTarget.value })} />}</Field>
          <Field label="Type" hint="The type of every variation's value; it cannot change later.">
            {(id) => (
              <select id={id} value={form.type} onChange={(e) => setForm({ ...form, type: e.currentTarget.value as ValueType })}>
                <option value="boolean">boolean</option>
                <option value="string">string</option>
                <option value="number">number</option>
                <option value="object">object (JSON)</option>
              </select>
            )}
          </Field>
          <Field label="Tags" hint="Comma-separated.">{(id) => <input id={id} value={form.tags} onInput={(e) => setForm({ ...form, tags: e.currentTarget.value })} />}</Field>
          <Field label="Description">{(id) => <textarea id={id} rows={2} value={form.description} onInput={(e) => setForm({ ...form, description: e.currentTarget.value })} />}</Field>
          <label class="check">
            <input type="checkbox" checked={form.clientVisible} onChange={(e) => setForm({ ...form, clientVisible: e.currentTarget.checked })} />
            Client-visible
          </label>
          <p class="hint">The flag starts off in every environment, serving its last variation. Variations and targeting are edited next.</p>
          <button type="submit" disabled={busy}>
            {busy ? 'Creating…' : 'Create flag'}
          </button>
        </form>
      </Page>
    </Errors.Provider>
  );
}
