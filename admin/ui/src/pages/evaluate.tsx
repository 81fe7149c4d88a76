// "Evaluate as": the user types a context and sees, in every environment, what the
// unsaved draft and what is saved (and so published) answer: value, variant, reason
// and matched rule, computed in the page by the engine the edge runs (preview.ts).
// Snapshots are rebuilt when the draft or the saved flag changes; a keystroke in the
// context only evaluates. The engine's load warnings about the draft come back as field
// errors, so a bad rule is marked before it is saved.

import { useEffect, useLayoutEffect, useMemo, useRef, useState } from 'preact/hooks';
import { type FieldError, flagPointer } from '../errors';
import type { Environment, FlagDoc, FlagView, SegmentView } from '../model';
import { type Detail, DraftEngine, loadEngine } from '../preview';
import { previewSnapshot } from '../snapshot';
import { Problem, useId } from '../ui';

interface Engines {
  draft: Map<string, DraftEngine>;
  saved: Map<string, DraftEngine>;
  warnings: FieldError[];
  generation: number;
}

/** Keeps one engine per environment for the draft and one for the saved flag. */
export function usePreview(draft: FlagDoc | null, saved: FlagView | undefined, flags: FlagView[] | undefined, segments: SegmentView[] | undefined, envs: Environment[] | undefined): { engines: Engines | null; error?: Error } {
  const [ready, setReady] = useState(false);
  const [error, setError] = useState<Error>();
  const store = useRef<{ draft: Map<string, DraftEngine>; saved: Map<string, DraftEngine> }>({ draft: new Map(), saved: new Map() });
  useEffect(() => {
    loadEngine().then(() => setReady(true), (e: Error) => setError(e));
    return () => {
      for (const m of [store.current.draft, store.current.saved]) for (const e of m.values()) e.free();
    };
  }, []);
  const engine = (m: Map<string, DraftEngine>, env: string) => {
    let e = m.get(env);
    if (!e) m.set(env, (e = new DraftEngine()));
    return e;
  };
  const savedGen = useMemo(() => {
    if (!ready || !saved || !flags || !segments || !envs) return 0;
    for (const env of envs) engine(store.current.saved, env.key).load(previewSnapshot({ env: env.key, edgeName: env.edgeName, flag: saved, version: saved.version, flags, segments }));
    return performance.now();
  }, [ready, saved, flags, segments, envs]);
  const draftResult = useMemo(() => {
    if (!ready || !draft || !saved || !flags || !segments || !envs) return null;
    const warnings: FieldError[] = [];
    for (const env of envs) {
      const e = engine(store.current.draft, env.key);
      e.load(previewSnapshot({ env: env.key, edgeName: env.edgeName, flag: draft, version: saved.version + 1, flags, segments }));
      for (const w of e.warnings) {
        if (w.kind === 'flag' && w.key === draft.key) warnings.push({ path: flagPointer(w.path, env.key), message: w.message, source: 'engine' });
      }
      if (e.loadError) warnings.push({ path: `/environments/${env.key}`, message: e.loadError, source: 'engine' });
    }
    // One definition problem is reported once per environment: show it once.
    const unique = warnings.filter((w, i) => warnings.findIndex((x) => x.path === w.path && x.message === w.message) === i);
    return { warnings: unique, at: performance.now() };
  }, [ready, draft, saved, flags, segments, envs]);
  if (!draftResult || !savedGen) return { engines: null, error };
  return {
    engines: { ...store.current, warnings: draftResult.warnings, generation: draftResult.at + savedGen },
    error,
  };
}

const EXAMPLE = '{\n  "targetingKey": "user-1",\n  "email": "ada@example.com"\n}';

function Result({ d, ruleNames }: { d: Detail | undefined; ruleNames: (i: number) => string }) {
  if (!d) return <span class="muted">—</span>;
  if (d.reason === 'ERROR') {
    return (
      <span class="result error">
        <strong>{d.errorCode}</strong> <span class="small">{d.errorMessage}</span>
      </span>
    );
  }
  return (
    <span class="result">
      <code>{JSON.stringify(d.value)}</code> <span class="variant">{d.variant}</span> <span class="reason">{d.reason}</span>
      {d.ruleIndex !== undefined && <span class="small"> {ruleNames(d.ruleIndex)}</span>}
      {d.failedPrerequisite && <span class="small"> prerequisite {d.failedPrerequisite} failed</span>}
    </span>
  );
}

export function EvaluateAs(props: { flagKey: string; envs: Environment[]; engines: Engines | null; draft: FlagDoc; saved: FlagDoc; error?: Error; dirty: boolean }) {
  const { engines, envs, flagKey } = props;
  const [text, setText] = useState(() => sessionStorage.getItem('edgeflag.context') ?? EXAMPLE);
  const typedAt = useRef<number | null>(null);
  const [ms, setMs] = useState<number | null>(null);
  const id = useId('ctx');
  const parsed = useMemo(() => {
    try {
      const v = JSON.parse(text) as unknown;
      if (v === null || typeof v !== 'object' || Array.isArray(v)) return { why: 'The context must be a JSON object.' };
      return { json: JSON.stringify(v) };
    } catch (e) {
      return { why: `Not JSON yet: ${(e as Error).message}` };
    }
  }, [text]);
  const now = Date.now();
  const rows = useMemo(() => {
    if (!engines || !parsed.json) return null;
    return envs.map((env) => ({
      env: env.key,
      draft: engines.draft.get(env.key)?.evaluate(flagKey, parsed.json, now),
      saved: engines.saved.get(env.key)?.evaluate(flagKey, parsed.json, now),
    }));
  }, [engines?.generation, parsed.json, envs]);
  // Keystroke to result on screen: measured for BENCHMARKS.md, shown to the curious.
  useLayoutEffect(() => {
    if (typedAt.current !== null && rows) {
      const took = performance.now() - typedAt.current;
      typedAt.current = null;
      setMs(took);
    }
  }, [rows]);
  const ruleNames = (doc: FlagDoc, env: string) => (i: number) => {
    const rule = doc.environments[env]?.rules[i];
    return rule?.id ? `rule ${i + 1} (${rule.id})` : `rule ${i + 1}`;
  };
  // The draft always carries the next flag version: compare the answers, not the versions.
  const answer = (d?: Detail) => JSON.stringify(d && [d.value, d.variant, d.reason, d.errorCode, d.ruleIndex, d.failedPrerequisite]);
  const same = (a?: Detail, b?: Detail) => answer(a) === answer(b);
  return (
    <section class="evaluate card" aria-labelledby="evaluate-title">
      <h2 id="evaluate-title">Evaluate as</h2>
      <label for={id}>Context (JSON)</label>
      <textarea
        id={id}
        class="mono"
        rows={6}
        spellcheck={false}
        value={text}
        aria-invalid={parsed.why ? 'true' : undefined}
        aria-describedby={`${id}-why`}
        onInput={(e) => {
          typedAt.current = performance.now();
          const t = e.currentTarget.value;
          setText(t);
          sessionStorage.setItem('edgeflag.context', t);
        }}
      />
      <p class="hint" id={`${id}-why`}>
        {parsed.why ?? 'targetingKey plus any attributes; evaluated as you type by the engine the edge runs.'}
      </p>
      <Problem error={props.error} />
      {!rows ? (
        <p class="muted" role="status">
          {parsed.why ? 'Waiting for a valid context.' : 'Loading the engine…'}
        </p>
      ) : (
        <table class="list results" aria-live="polite" data-preview-ms={ms ?? ''}>
          <thead>
            <tr>
              <th scope="col">Environment</th>
              <th scope="col">Draft{props.dirty ? ' (unsaved)' : ''}</th>
              <th scope="col">Published</th>
            </tr>
          </thead>
          <tbody>
            {rows.map((r) => (
              <tr key={r.env} class={same(r.draft, r.saved) ? '' : 'differs'} data-env={r.env}>
                <th scope="row">{r.env}</th>
                <td class="draft">
                  <Result d={r.draft} ruleNames={ruleNames(props.draft, r.env)} />
                </td>
                <td class="saved">
                  <Result d={r.saved} ruleNames={ruleNames(props.saved, r.env)} />
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      <p class="hint">
        Published: the saved flag, as the admin publishes it. Each edge's delivered version is on the Environments page.
      </p>
      {ms !== null && <p class="muted small">Evaluated in {ms.toFixed(2)} ms.</p>}
    </section>
  );
}

