// The flags of a project: search, tag, type and archived filters, and one on/off switch
// per environment per row. The whole list is loaded once (it follows other people's
// changes), so filtering as one types needs no request.

import { memo } from 'preact/compat';
import { useMemo, useState } from 'preact/hooks';
import { all, enc, post } from '../api';
import { announce } from '../changes';
import type { Environment, FlagView } from '../model';
import { href } from '../router';
import { Field, Loading, OnOff, Page, Problem, Switch, useCan, useResource, when } from '../ui';
import { ago, newest, useLastEvaluated } from './usage';

export function useEnvironments(project: string) {
  return useResource(() => all<Environment>(`/v1/projects/${enc(project)}/environments`), [project]);
}

/** Rows rendered at first; filtering searches every flag, "Show more" renders the next rows. */
const PAGE = 100;

interface Filters {
  q: string;
  tag: string;
  type: string;
}

/** Orders of the list: by key, by last change, by last evaluation (newest or oldest first). */
const SORTS = {
  key: 'Key',
  updated: 'Recently updated',
  evaluated: 'Recently evaluated',
  unevaluated: 'Least recently evaluated',
} as const;
export type Sort = keyof typeof SORTS;

/** `flags` in `sort` order; `lastMs(key)` is a flag's newest evaluation (0: never). Ties go by key. */
export function sortFlags(flags: FlagView[], sort: Sort, lastMs: (key: string) => number): FlagView[] {
  const byKey = (a: FlagView, b: FlagView) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0);
  const cmp: Record<Sort, (a: FlagView, b: FlagView) => number> = {
    key: byKey,
    updated: (a, b) => Date.parse(b.updatedAt) - Date.parse(a.updatedAt) || byKey(a, b),
    evaluated: (a, b) => lastMs(b.key) - lastMs(a.key) || byKey(a, b),
    unevaluated: (a, b) => lastMs(a.key) - lastMs(b.key) || byKey(a, b),
  };
  return [...flags].sort(cmp[sort]);
}

export function filterFlags(flags: FlagView[], f: Filters): FlagView[] {
  const q = f.q.trim().toLowerCase();
  return flags.filter(
    (flag) =>
      (!q || flag.key.toLowerCase().includes(q) || flag.name.toLowerCase().includes(q)) &&
      (!f.tag || flag.tags.includes(f.tag)) &&
      (!f.type || flag.type === f.type),
  );
}

export function FlagList({ project }: { project: string; path: string }) {
  const [archived, setArchived] = useState('false');
  const [filters, setFilters] = useState<Filters>({ q: '', tag: '', type: '' });
  const flags = useResource(() => all<FlagView>(`/v1/projects/${enc(project)}/flags?archived=${archived}`), [project, archived]);
  const envs = useEnvironments(project);
  const last = useLastEvaluated(project);
  const [sort, setSort] = useState<Sort>('key');
  const [limit, setLimit] = useState(PAGE);
  const [pending, setPending] = useState<Record<string, boolean>>({});
  const [toggleError, setToggleError] = useState<Error | undefined>();
  const canEdit = useCan('editor');
  const tags = useMemo(() => [...new Set((flags.data ?? []).flatMap((f) => f.tags))].sort(), [flags.data]);
  const lastMs = useMemo(() => {
    const cache = new Map<string, number>();
    for (const [key, items] of last.byFlag) cache.set(key, newest(items));
    return (key: string) => cache.get(key) ?? 0;
  }, [last.byFlag]);
  const matching = useMemo(() => sortFlags(filterFlags(flags.data ?? [], filters), sort, lastMs), [flags.data, filters, sort, lastMs]);
  const shown = matching.slice(0, limit);

  const toggle = async (flag: FlagView, env: string, enabled: boolean) => {
    const id = `${flag.key}\u0000${env}`;
    setPending((p) => ({ ...p, [id]: enabled }));
    setToggleError(undefined);
    try {
      await post(`/v1/projects/${enc(project)}/flags/${enc(flag.key)}/environments/${enc(env)}/toggle`, { enabled });
      flags.reload();
      announce();
    } catch (e) {
      setToggleError(e as Error);
      setPending((p) => {
        const { [id]: _, ...rest } = p;
        return rest;
      });
    }
  };
  // An optimistic switch state lasts until the reloaded list agrees with it.
  const enabledIn = (flag: FlagView, env: string) => {
    const id = `${flag.key}\u0000${env}`;
    return id in pending ? (pending[id] as boolean) : !!flag.environments[env]?.enabled;
  };

  return (
    <Page
      title="Flags"
      actions={
        canEdit && (
          <a class="button" href={href(`/projects/${enc(project)}/flags/new`)}>
            New flag
          </a>
        )
      }
    >
      <form class="filters" role="search" aria-label="Filter flags" onSubmit={(e) => e.preventDefault()}>
        <Field label="Search">
          {(id) => (
            <input id={id} type="search" placeholder="key or name" value={filters.q} onInput={(e) => { setFilters({ ...filters, q: e.currentTarget.value }); setLimit(PAGE); }} />
          )}
        </Field>
        <Field label="Tag">
          {(id) => (
            <select id={id} value={filters.tag} onChange={(e) => setFilters({ ...filters, tag: e.currentTarget.value })}>
              <option value="">any</option>
              {tags.map((t) => (
                <option key={t} value={t}>
                  {t}
                </option>
              ))}
            </select>
          )}
        </Field>
        <Field label="Type">
          {(id) => (
            <select id={id} value={filters.type} onChange={(e) => setFilters({ ...filters, type: e.currentTarget.value })}>
              <option value="">any</option>
              {['boolean', 'string', 'number', 'object'].map((t) => (
                <option key={t} value={t}>
                  {t}
                </option>
              ))}
            </select>
          )}
        </Field>
        <Field label="Archived">
          {(id) => (
            <select id={id} value={archived} onChange={(e) => setArchived(e.currentTarget.value)}>
              <option value="false">live flags</option>
              <option value="true">archived flags</option>
              <option value="all">all flags</option>
            </select>
          )}
        </Field>
        <Field label="Sort by">
          {(id) => (
            <select id={id} value={sort} onChange={(e) => { setSort(e.currentTarget.value as Sort); setLimit(PAGE); }}>
              {Object.entries(SORTS).map(([k, label]) => (
                <option key={k} value={k}>
                  {label}
                </option>
              ))}
            </select>
          )}
        </Field>
      </form>
      <Problem error={flags.error ?? envs.error ?? toggleError ?? last.error} />
      {!flags.data || !envs.data ? (
        <Loading what="flags" />
      ) : (
        <>
          <p class="muted" role="status" aria-live="polite">
            {matching.length} of {flags.data.length} flags{matching.length > shown.length ? `, showing the first ${shown.length}` : ''}
          </p>
          <table class="list flags">
            <thead>
              <tr>
                <th scope="col">Flag</th>
                <th scope="col">Type</th>
                <th scope="col">Tags</th>
                {envs.data.map((e) => (
                  <th scope="col" key={e.key} class="env">
                    {e.key}
                  </th>
                ))}
                <th scope="col" aria-sort={sort === 'updated' ? 'descending' : undefined}>
                  Updated
                </th>
                <th scope="col" aria-sort={sort === 'evaluated' ? 'descending' : sort === 'unevaluated' ? 'ascending' : undefined}>
                  Last evaluated
                </th>
              </tr>
            </thead>
            <tbody>
              {shown.map((flag) => (
                <FlagRow
                  key={flag.key}
                  project={project}
                  flag={flag}
                  envs={envs.data!}
                  states={envs.data!.map((e) => enabledIn(flag, e.key))}
                  canEdit={canEdit && !flag.archived}
                  lastMs={lastMs(flag.key)}
                  onToggle={toggle}
                />
              ))}
            </tbody>
          </table>
          {matching.length === 0 && <p class="muted">No flag matches.</p>}
          {matching.length > shown.length && (
            <button type="button" class="secondary" onClick={() => setLimit(limit + PAGE)}>
              Show {Math.min(PAGE, matching.length - shown.length)} more
            </button>
          )}
        </>
      )}
    </Page>
  );
}

interface RowProps {
  project: string;
  flag: FlagView;
  envs: Environment[];
  states: boolean[];
  canEdit: boolean;
  /** The newest evaluation in any environment (0: never). */
  lastMs: number;
  onToggle: (flag: FlagView, env: string, on: boolean) => void;
}

const FlagRow = memo(
  function FlagRow({ project, flag, envs, states, canEdit, lastMs, onToggle }: RowProps) {
    return (
      <tr>
        <th scope="row">
          <a href={href(`/projects/${enc(project)}/flags/${enc(flag.key)}`)}>{flag.name || flag.key}</a>
          <span class="mono small">{flag.key}</span>
          {flag.archived && <span class="badge">archived</span>}
        </th>
        <td>{flag.type}</td>
        <td>
          {flag.tags.map((t) => (
            <span class="tag" key={t}>
              {t}
            </span>
          ))}
        </td>
        {envs.map((e, i) => (
          <td key={e.key} class="env">
            {canEdit ? (
              <Switch checked={states[i]!} label={`${flag.key} in ${e.key}`} onChange={(on) => onToggle(flag, e.key, on)} />
            ) : (
              <OnOff on={states[i]!} label={`${flag.key} in ${e.key}`} />
            )}
          </td>
        ))}
        <td class="small">{when(flag.updatedAt)}</td>
        <td class="small last-evaluated">{lastMs ? <time dateTime={new Date(lastMs).toISOString()} title={when(new Date(lastMs).toISOString())}>{ago(lastMs)}</time> : <span class="muted">never</span>}</td>
      </tr>
    );
  },
  (a, b) => a.flag === b.flag && a.envs === b.envs && a.canEdit === b.canEdit && a.lastMs === b.lastMs && a.states.join() === b.states.join(),
);
