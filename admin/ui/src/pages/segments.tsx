// Segments of a project: the list, and an editor for included and excluded keys and
// rules (conditions as in flag rules; segment rules cannot name segments).

import { useEffect, useState } from 'preact/hooks';
import { all, ApiError, enc, get, post, put } from '../api';
import { announce } from '../changes';
import { ErrorSummary, Errors, type FieldError, FieldMessage, useInvalid } from '../errors';
import type { SegmentRule, SegmentView } from '../model';
import { href, navigate } from '../router';
import { Field, Loading, Page, Problem, useAction, useCan, useResource, when } from '../ui';
import { ConditionEditor } from './targeting';

export function SegmentList({ project }: { project: string }) {
  const [archived, setArchived] = useState('false');
  const segments = useResource(() => all<SegmentView>(`/v1/projects/${enc(project)}/segments?archived=${archived}`), [project, archived]);
  const canEdit = useCan('editor');
  return (
    <Page
      title="Segments"
      actions={
        canEdit && (
          <a class="button" href={href(`/projects/${enc(project)}/segments/new`)}>
            New segment
          </a>
        )
      }
    >
      <div class="filters">
        <Field label="Archived">
          {(id) => (
            <select id={id} value={archived} onChange={(e) => setArchived(e.currentTarget.value)}>
              <option value="false">live segments</option>
              <option value="true">archived segments</option>
              <option value="all">all segments</option>
            </select>
          )}
        </Field>
      </div>
      <Problem error={segments.error} />
      {!segments.data ? (
        <Loading what="segments" />
      ) : segments.data.length === 0 ? (
        <p class="muted">No segments yet.</p>
      ) : (
        <table class="list">
          <thead>
            <tr>
              <th scope="col">Segment</th>
              <th scope="col">Included</th>
              <th scope="col">Excluded</th>
              <th scope="col">Rules</th>
              <th scope="col">Updated</th>
            </tr>
          </thead>
          <tbody>
            {segments.data.map((s) => (
              <tr key={s.key}>
                <th scope="row">
                  <a href={href(`/projects/${enc(project)}/segments/${enc(s.key)}`)}>{s.name || s.key}</a>
                  <span class="mono small">{s.key}</span>
                  {s.archived && <span class="badge">archived</span>}
                </th>
                <td>{s.included.length}</td>
                <td>{s.excluded.length}</td>
                <td>{s.rules.length}</td>
                <td class="small">{when(s.updatedAt)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </Page>
  );
}

interface Draft {
  key: string;
  name: string;
  description: string;
  included: string[];
  excluded: string[];
  rules: SegmentRule[];
}

const lines = (t: string) => t.split('\n').map((s) => s.trim()).filter(Boolean);

export function SegmentEditor({ project, segment }: { project: string; segment?: string }) {
  const base = `/v1/projects/${enc(project)}/segments`;
  const saved = useResource(segment ? () => get<SegmentView>(`${base}/${enc(segment)}`) : null, [base, segment]);
  const [draft, setDraft] = useState<Draft | null>(segment ? null : { key: '', name: '', description: '', included: [], excluded: [], rules: [] });
  const [errors, setErrors] = useState<FieldError[]>([]);
  const [busy, error, run] = useAction();
  const [dirty, setDirty] = useState(false);
  const canEdit = useCan('editor');
  useEffect(() => {
    const s = saved.data;
    if (s && !dirty) setDraft({ key: s.key, name: s.name, description: s.description, included: s.included, excluded: s.excluded, rules: s.rules });
  }, [saved.data]);
  if (!draft) {
    return (
      <Page title={segment ?? 'Segment'}>
        <Problem error={saved.error} />
        <Loading what="the segment" />
      </Page>
    );
  }
  const set = (patch: Partial<Draft>) => {
    setDirty(true);
    setDraft({ ...draft, ...patch });
  };
  const save = (e: Event) => {
    e.preventDefault();
    setErrors([]);
    run(async () => {
      const { key, ...body } = draft;
      try {
        const s = segment ? await put<SegmentView>(`${base}/${enc(segment)}`, body) : await post<SegmentView>(base, { key: key.trim(), ...body });
        setDirty(false);
        announce();
        if (!segment) navigate(`/projects/${enc(project)}/segments/${enc(s.key)}`);
        else saved.reload();
      } catch (err) {
        if (err instanceof ApiError && err.path !== undefined) setErrors([{ path: err.path, message: err.message, source: 'server' }]);
        throw err;
      }
    });
  };
  const archive = (on: boolean) =>
    run(async () => {
      await post(`${base}/${enc(segment!)}/${on ? 'archive' : 'restore'}`);
      saved.reload();
      announce();
    });
  const disabled = !canEdit || !!saved.data?.archived;
  return (
    <Errors.Provider value={errors}>
      <Page
        title={segment ? draft.name || draft.key : 'New segment'}
        actions={
          canEdit &&
          segment &&
          saved.data && (
            <button type="button" class="secondary" disabled={busy} onClick={() => archive(!saved.data!.archived)}>
              {saved.data.archived ? 'Restore segment' : 'Archive segment'}
            </button>
          )
        }
      >
        {saved.data && (
          <p class="muted">
            <span class="mono">{saved.data.key}</span> · version {saved.data.version}
            {saved.data.archived && <span class="badge">archived</span>}
          </p>
        )}
        <Problem error={error} />
        <ErrorSummary errors={errors} title="The admin refused the segment" />
        <form onSubmit={save}>
          <fieldset disabled={disabled} class="plain">
            <legend class="visually-hidden">Segment</legend>
            <div class="grid2">
              {!segment && (
                <Field label="Key" hint="It cannot change later.">
                  {(id) => <input id={id} class="mono" required value={draft.key} {...useInvalid('/key')} onInput={(e) => set({ key: e.currentTarget.value })} />}
                </Field>
              )}
              <Field label="Name">{(id) => <input id={id} value={draft.name} required {...useInvalid('/name')} onInput={(e) => set({ name: e.currentTarget.value })} />}</Field>
              <Field label="Description" class="span2">
                {(id) => <textarea id={id} rows={2} value={draft.description} onInput={(e) => set({ description: e.currentTarget.value })} />}
              </Field>
              <Field label="Included targeting keys" hint="One per line: always in the segment.">
                {(id) => <textarea id={id} class="mono" rows={4} value={draft.included.join('\n')} {...useInvalid('/included')} onInput={(e) => set({ included: lines(e.currentTarget.value) })} />}
              </Field>
              <Field label="Excluded targeting keys" hint="One per line: never in it through rules.">
                {(id) => <textarea id={id} class="mono" rows={4} value={draft.excluded.join('\n')} {...useInvalid('/excluded')} onInput={(e) => set({ excluded: lines(e.currentTarget.value) })} />}
              </Field>
            </div>
            <FieldMessage ptr="/key" />
            <h2>Rules</h2>
            <p class="hint">A context is in the segment when any rule matches (all of a rule's conditions).</p>
            {draft.rules.map((rule, i) => (
              <fieldset class="card rule" key={i} data-ptr={`/rules/${i}`} tabIndex={-1}>
                <legend>Rule {i + 1}</legend>
                {rule.conditions.map((c, j) => (
                  <ConditionEditor
                    key={j}
                    condition={c}
                    ptr={`/rules/${i}/conditions/${j}`}
                    label={`Rule ${i + 1}, condition ${j + 1}`}
                    segments={[]}
                    noSegments
                    disabled={disabled}
                    onChange={(n) => {
                      const conditions = n === null ? rule.conditions.filter((_, k) => k !== j) : rule.conditions.map((x, k) => (k === j ? n : x));
                      set({ rules: draft.rules.map((r, k) => (k === i ? { ...r, conditions } : r)) });
                    }}
                  />
                ))}
                {!disabled && (
                  <div class="row gap">
                    <button type="button" class="secondary small" onClick={() => set({ rules: draft.rules.map((r, k) => (k === i ? { ...r, conditions: [...r.conditions, { attribute: '', op: 'in', values: [] }] } : r)) })}>
                      Add condition
                    </button>
                    <button type="button" class="secondary small" onClick={() => set({ rules: draft.rules.filter((_, k) => k !== i) })}>
                      Remove rule {i + 1}
                    </button>
                  </div>
                )}
              </fieldset>
            ))}
            {!disabled && (
              <button type="button" class="secondary" onClick={() => set({ rules: [...draft.rules, { conditions: [{ attribute: 'email', op: 'endsWith', values: [] }] }] })}>
                Add rule
              </button>
            )}
          </fieldset>
          {canEdit && !saved.data?.archived && (
            <div class="savebar">
              <button type="submit" disabled={busy || (!!segment && !dirty)}>
                {busy ? 'Saving…' : segment ? 'Save' : 'Create segment'}
              </button>
            </div>
          )}
        </form>
      </Page>
    </Errors.Provider>
  );
}
