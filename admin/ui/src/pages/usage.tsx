// Evaluation insights in the dashboard: when each flag was last evaluated (the flag list
// sorts by it) and, on a flag's page, its evaluations over time as a small bar chart with
// the split by variation. Counts come from the edge and the SDKs through the admin's
// ingestion endpoint; they are reloaded every minute, since they do not travel on the
// change feed.

import { useMemo, useState } from 'preact/hooks';
import { enc, get } from '../api';
import type { Environment, FlagUsage, LastEvaluated } from '../model';
import { Field, Problem, useResource, when } from '../ui';

const MINUTE = 60_000;

/** The newest evaluation of every flag of `project` in any environment, by flag key. */
export function useLastEvaluated(project: string) {
  const res = useResource(() => get<{ items: LastEvaluated[] }>(`/v1/projects/${enc(project)}/usage/last-evaluated`), [project], MINUTE);
  const byFlag = useMemo(() => {
    const out = new Map<string, LastEvaluated[]>();
    for (const item of res.data?.items ?? []) out.set(item.flag, [...(out.get(item.flag) ?? []), item]);
    return out;
  }, [res.data]);
  return { byFlag, error: res.error, loaded: res.data !== undefined };
}

/** The newest of a flag's last evaluations, in epoch milliseconds (0: never). */
export function newest(items: LastEvaluated[] | undefined): number {
  return Math.max(0, ...(items ?? []).map((i) => Date.parse(i.lastEvaluatedAt)).filter((t) => !Number.isNaN(t)));
}

const relative = new Intl.RelativeTimeFormat(undefined, { numeric: 'auto' });

/** "3 minutes ago", "yesterday"; "never" for 0. */
export function ago(ms: number, now = Date.now()): string {
  if (!ms) return 'never';
  const s = Math.round((ms - now) / 1000);
  const abs = Math.abs(s);
  if (abs < 3600) return relative.format(Math.round(s / 60), 'minute');
  if (abs < 86400) return relative.format(Math.round(s / 3600), 'hour');
  return relative.format(Math.round(s / 86400), 'day');
}

interface Range {
  label: string;
  resolution: 'minute' | 'hour' | 'day';
  slots: number;
  width: number;
}
const RANGES: Record<string, Range> = {
  hour: { label: 'Last hour', resolution: 'minute', slots: 60, width: MINUTE },
  day: { label: 'Last 24 hours', resolution: 'hour', slots: 24, width: 60 * MINUTE },
  month: { label: 'Last 30 days', resolution: 'day', slots: 30, width: 24 * 60 * MINUTE },
};

export interface Series {
  /** One count per slot, oldest first; the last slot holds now. */
  counts: number[];
  starts: number[];
  total: number;
  variants: [string, number][];
}

/** Sums `usage`'s buckets (every environment) into `range.slots` slots ending at `now`. */
export function series(usage: FlagUsage, range: Range, now: number): Series {
  const last = Math.floor(now / range.width) * range.width;
  const first = last - (range.slots - 1) * range.width;
  const counts = new Array<number>(range.slots).fill(0);
  const variants = new Map<string, number>();
  let total = 0;
  for (const b of usage.buckets) {
    const i = Math.floor((Date.parse(b.start) - first) / range.width);
    if (i < 0 || i >= range.slots) continue;
    counts[i] = (counts[i] ?? 0) + b.count;
    total += b.count;
    for (const [v, n] of Object.entries(b.variants)) variants.set(v, (variants.get(v) ?? 0) + n);
  }
  const starts = counts.map((_, i) => first + i * range.width);
  return { counts, starts, total, variants: [...variants].sort((a, b) => b[1] - a[1]) };
}

const slotFormats = {
  minute: new Intl.DateTimeFormat(undefined, { timeStyle: 'short' }),
  hour: new Intl.DateTimeFormat(undefined, { weekday: 'short', hour: 'numeric', minute: '2-digit' }),
  day: new Intl.DateTimeFormat(undefined, { dateStyle: 'medium' }),
};

/** A flag's evaluations: a bar per minute, hour or day, the split by variation, and the last evaluation per environment. */
export function FlagUsageCard({ project, flag, envs, last }: { project: string; flag: string; envs: Environment[]; last: LastEvaluated[] | undefined }) {
  const [rangeKey, setRangeKey] = useState('day');
  const [env, setEnv] = useState('');
  const range = RANGES[rangeKey]!;
  const usage = useResource(() => {
    const to = Date.now();
    const from = Math.floor(to / range.width) * range.width - (range.slots - 1) * range.width;
    const q = new URLSearchParams({ resolution: range.resolution, from: new Date(from).toISOString(), to: new Date(to + range.width).toISOString() });
    if (env) q.set('environment', env);
    return get<FlagUsage>(`/v1/projects/${enc(project)}/flags/${enc(flag)}/usage?${q}`);
  }, [project, flag, rangeKey, env], MINUTE);
  const s = useMemo(() => (usage.data ? series(usage.data, range, Date.now()) : undefined), [usage.data]);
  const format = slotFormats[range.resolution];
  const peak = s ? Math.max(...s.counts) : 0;
  const peakAt = s ? s.counts.indexOf(peak) : -1;
  const summary = !s
    ? ''
    : s.total === 0
      ? `No evaluations counted: ${range.label.toLowerCase()}${env ? ` in ${env}` : ''}.`
      : `${s.total.toLocaleString()} evaluations, ${range.label.toLowerCase()}${env ? ` in ${env}` : ''}; the busiest ${range.resolution} (${format.format(s.starts[peakAt]!)}) had ${peak.toLocaleString()}.`;
  const H = 48;
  const W = 6;
  return (
    <section class="usage card" aria-labelledby="usage-title">
      <h2 id="usage-title">Evaluations</h2>
      <div class="filters compact">
        <Field label="Range">
          {(id) => (
            <select id={id} value={rangeKey} onChange={(e) => setRangeKey(e.currentTarget.value)}>
              {Object.entries(RANGES).map(([k, r]) => (
                <option key={k} value={k}>
                  {r.label}
                </option>
              ))}
            </select>
          )}
        </Field>
        <Field label="Environment">
          {(id) => (
            <select id={id} value={env} onChange={(e) => setEnv(e.currentTarget.value)}>
              <option value="">all</option>
              {envs.map((e) => (
                <option key={e.key} value={e.key}>
                  {e.key}
                </option>
              ))}
            </select>
          )}
        </Field>
      </div>
      <Problem error={usage.error} />
      {s && (
        <>
          <svg class="usage-chart" viewBox={`0 0 ${s.counts.length * W} ${H}`} preserveAspectRatio="none" role="img" aria-label={summary} data-total={s.total}>
            <line class="axis" x1="0" y1={H - 0.5} x2={s.counts.length * W} y2={H - 0.5} />
            {s.counts.map((n, i) =>
              n > 0 ? (
                <rect key={i} class="bar" x={i * W + 0.5} width={W - 1} y={H - Math.max(1, (n / peak) * H)} height={Math.max(1, (n / peak) * H)}>
                  <title>{`${format.format(s.starts[i]!)}: ${n.toLocaleString()}`}</title>
                </rect>
              ) : null,
            )}
          </svg>
          <div class="usage-axis small muted" aria-hidden="true">
            <span>{format.format(s.starts[0]!)}</span>
            <span>now</span>
          </div>
          <p class="small muted" role="status">
            {summary}
          </p>
          {s.total > 0 && (
            <table class="list usage-variants">
              <caption class="visually-hidden">Evaluations by variation</caption>
              <thead>
                <tr>
                  <th scope="col">Variation</th>
                  <th scope="col" class="num">
                    Evaluations
                  </th>
                  <th scope="col" class="num">
                    Share
                  </th>
                </tr>
              </thead>
              <tbody>
                {s.variants.map(([v, n]) => (
                  <tr key={v}>
                    <th scope="row">{v === '' ? <span class="muted">none (errors)</span> : <span class="mono">{v}</span>}</th>
                    <td class="num">{n.toLocaleString()}</td>
                    <td class="num">{((100 * n) / s.total).toFixed(1)} %</td>
                  </tr>
                ))}
              </tbody>
            </table>
          )}
          {s.total > 0 && (
            <details>
              <summary>Counts per {range.resolution}</summary>
              <table class="list small">
                <thead>
                  <tr>
                    <th scope="col">{range.resolution === 'day' ? 'Day' : 'From'}</th>
                    <th scope="col" class="num">
                      Evaluations
                    </th>
                  </tr>
                </thead>
                <tbody>
                  {s.counts.map((n, i) =>
                    n > 0 ? (
                      <tr key={i}>
                        <td>{format.format(s.starts[i]!)}</td>
                        <td class="num">{n.toLocaleString()}</td>
                      </tr>
                    ) : null,
                  )}
                </tbody>
              </table>
            </details>
          )}
        </>
      )}
      <h3>Last evaluated</h3>
      <ul class="plain small last-evaluated">
        {envs.map((e) => {
          const at = last?.find((l) => l.environment === e.key)?.lastEvaluatedAt;
          return (
            <li key={e.key}>
              <span class="mono">{e.key}</span>: {at ? <time dateTime={at} title={when(at)}>{ago(Date.parse(at))}</time> : 'never'}
            </li>
          );
        })}
      </ul>
    </section>
  );
}
