// A flag's history: every version, a readable diff between any two, and restore (which
// writes the old document as a new version; history only grows).

import { useEffect, useState } from 'preact/hooks';
import { enc, get, post } from '../api';
import { announce } from '../changes';
import { describePointer } from '../errors';
import type { Change, VersionEntry } from '../model';
import { href } from '../router';
import { Loading, Page, Problem, useAction, useCan, useResource, when } from '../ui';

function short(v: unknown): string {
  const text = JSON.stringify(v);
  return text === undefined ? '—' : text.length > 160 ? `${text.slice(0, 157)}…` : text;
}

export function DiffTable({ changes }: { changes: Change[] }) {
  if (changes.length === 0) return <p class="muted">No differences.</p>;
  return (
    <table class="list diff">
      <thead>
        <tr>
          <th scope="col">What</th>
          <th scope="col">Before</th>
          <th scope="col">After</th>
        </tr>
      </thead>
      <tbody>
        {changes.map((c) => (
          <tr key={c.path + c.op} class={c.op}>
            <th scope="row">
              {describePointer(c.path)}
              <span class="mono small">{c.path}</span>
            </th>
            <td class="mono before">{c.op === 'add' ? <em>(none)</em> : short(c.from)}</td>
            <td class="mono after">{c.op === 'remove' ? <em>(removed)</em> : short(c.value)}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

export function History({ project, flag }: { project: string; flag: string }) {
  const base = `/v1/projects/${enc(project)}/flags/${enc(flag)}`;
  const versions = useResource(() => get<{ items: VersionEntry[] }>(`${base}/versions`).then((r) => r.items), [base]);
  const [pair, setPair] = useState<{ from: number; to: number } | null>(null);
  const canEdit = useCan('editor');
  const [busy, error, run] = useAction();
  const [restored, setRestored] = useState<number | undefined>();
  const list = versions.data ?? [];
  useEffect(() => {
    if (!pair && list.length >= 2) setPair({ from: list[1]!.version, to: list[0]!.version });
  }, [list.length]);
  const diff = useResource(
    pair ? () => get<{ changes: Change[] }>(`${base}/versions/diff?from=${pair.from}&to=${pair.to}`).then((d) => d.changes) : null,
    [base, pair?.from, pair?.to],
  );
  const restore = (n: number) =>
    run(async () => {
      const v = await post<{ version: number }>(`${base}/versions/${n}/restore`);
      setRestored(v.version);
      setPair(null);
      versions.reload();
      announce();
    });
  return (
    <Page
      title={`History of ${flag}`}
      actions={
        <a class="button secondary" href={href(`/projects/${enc(project)}/flags/${enc(flag)}`)}>
          Back to the flag
        </a>
      }
    >
      <Problem error={versions.error ?? error} />
      {restored !== undefined && (
        <p class="notice" role="status">
          Restored as version {restored}.
        </p>
      )}
      {!versions.data ? (
        <Loading what="versions" />
      ) : (
        <div class="history">
          <table class="list versions">
            <caption class="visually-hidden">Versions, newest first</caption>
            <thead>
              <tr>
                <th scope="col">Version</th>
                <th scope="col">By</th>
                <th scope="col">When</th>
                <th scope="col">Compare</th>
                {canEdit && (
                  <th scope="col">
                    <span class="visually-hidden">Restore</span>
                  </th>
                )}
              </tr>
            </thead>
            <tbody>
              {list.map((v, i) => {
                const prev = list[i + 1];
                return (
                  <tr key={v.version} aria-current={pair?.to === v.version ? 'true' : undefined}>
                    <th scope="row">{v.version}</th>
                    <td class="mono small">{v.actor}</td>
                    <td class="small">{when(v.createdAt)}</td>
                    <td>
                      {prev && (
                        <button type="button" class="secondary small" onClick={() => setPair({ from: prev.version, to: v.version })}>
                          Changes in {v.version}
                        </button>
                      )}
                      {i > 0 && (
                        <button type="button" class="secondary small" onClick={() => setPair({ from: v.version, to: list[0]!.version })}>
                          {v.version} → now
                        </button>
                      )}
                    </td>
                    {canEdit && (
                      <td>
                        {i > 0 && (
                          <button type="button" class="small" disabled={busy} onClick={() => restore(v.version)}>
                            Restore version {v.version}
                          </button>
                        )}
                      </td>
                    )}
                  </tr>
                );
              })}
            </tbody>
          </table>
          {pair && (
            <section aria-labelledby="diff-title">
              <h2 id="diff-title">
                Version {pair.from} → {pair.to}
              </h2>
              <Problem error={diff.error} />
              {diff.data ? <DiffTable changes={diff.data} /> : <Loading what="the changes" />}
            </section>
          )}
        </div>
      )}
    </Page>
  );
}
