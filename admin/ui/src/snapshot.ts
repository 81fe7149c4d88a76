// Snapshots built in the page, for the preview: the same documents the admin publishes
// (admin-core/src/snapshot.rs, `model::wire_flag`, `model::wire_segment`), limited to what one
// flag's evaluation reads: the flag, the transitive closure of its prerequisites, and the
// segments those name (as admin-core/src/client_subset.rs picks them). Keep these in step
// with the admin: the preview must answer what the edge will.

import type { EnvConfig, FlagDef, FlagView, Json, SegmentView } from './model';

/** The engine's flag document for one environment (`model::wire_flag`). */
export function wireFlag(def: FlagDef, version: number, env: EnvConfig): Record<string, Json> {
  const flag: Record<string, Json> = {
    key: def.key,
    version,
    type: def.type,
    variations: def.variations as unknown as Json,
    enabled: env.enabled,
    offVariation: env.offVariation,
    targets: env.targets as unknown as Json,
    rules: env.rules as unknown as Json,
    defaultRule: env.defaultRule as unknown as Json,
    prerequisites: env.prerequisites as unknown as Json,
  };
  if (def.salt !== undefined && def.salt !== null) flag.salt = def.salt;
  flag.clientVisible = def.clientVisible;
  if (def.description) flag.description = def.description;
  flag.tags = def.tags;
  return flag;
}

/** The engine's segment document (`model::wire_segment`). */
export function wireSegment(s: SegmentView): Record<string, Json> {
  return {
    included: s.included,
    excluded: s.excluded,
    rules: s.rules as unknown as Json,
    key: s.key,
    version: s.version,
  };
}

/** A flag's configuration in an environment it has none for (`flagstore::default_env_config`). */
export function defaultEnvConfig(def: FlagDef): EnvConfig {
  const last = def.variations[def.variations.length - 1]?.key ?? '';
  return { enabled: false, offVariation: last, targets: [], rules: [], defaultRule: { variation: last }, prerequisites: [] };
}

function segmentKeys(env: EnvConfig): string[] {
  return env.rules.flatMap((r) =>
    r.conditions
      .filter((c) => c.op === 'inSegment' || c.op === 'notInSegment')
      .flatMap((c) => c.values.filter((v): v is string => typeof v === 'string')),
  );
}

export interface PreviewInput {
  /** The environment's key (the flag documents are keyed by it) and its edge name. */
  env: string;
  edgeName: string;
  /** The flag to evaluate: the draft, or the saved document. */
  flag: FlagDef & { environments: Record<string, EnvConfig> };
  version: number;
  /** The project's other flags and segments, as saved. */
  flags: FlagView[];
  segments: SegmentView[];
}

/** The snapshot JSON for evaluating `input.flag` in one environment. */
export function previewSnapshot(input: PreviewInput): string {
  const { env, flag } = input;
  const byKey = new Map(input.flags.filter((f) => !f.archived && f.key !== flag.key).map((f) => [f.key, f]));
  const config = (f: PreviewInput['flag']) => f.environments[env] ?? defaultEnvConfig(f);
  const chosen = [wireFlag(flag, input.version, config(flag))];
  const segments = new Set(segmentKeys(config(flag)));
  const seen = new Set([flag.key]);
  const queue = config(flag).prerequisites.map((p) => p.flag);
  while (queue.length > 0) {
    const key = queue.pop() as string;
    const other = byKey.get(key);
    if (seen.has(key) || !other) continue;
    seen.add(key);
    const c = config(other);
    chosen.push(wireFlag(other, other.version, c));
    for (const s of segmentKeys(c)) segments.add(s);
    queue.push(...c.prerequisites.map((p) => p.flag));
  }
  return JSON.stringify({
    schemaVersion: 1,
    environment: input.edgeName,
    version: 0,
    generatedAt: new Date().toISOString(),
    flags: chosen,
    segments: input.segments.filter((s) => !s.archived && segments.has(s.key)).map(wireSegment),
  });
}
