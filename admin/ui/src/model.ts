// The API's shapes, named as the API names them (docs/API-DESIGN.md, admin-core/src/model.rs).

export type ValueType = 'boolean' | 'string' | 'number' | 'object';
export type Json = null | boolean | number | string | Json[] | { [k: string]: Json };

export interface Variation {
  key: string;
  value: Json;
}
export interface Target {
  variation: string;
  values: string[];
}
export interface Condition {
  attribute?: string;
  op: string;
  values: Json[];
  caseInsensitive?: boolean;
  negate?: boolean;
}
export interface WeightedVariation {
  variation: string;
  weight: number;
}
export interface Rollout {
  bucketBy?: string;
  variations: WeightedVariation[];
}
export interface Serve {
  variation?: string;
  rollout?: Rollout;
}
export interface Rule {
  id?: string;
  conditions: Condition[];
  serve: Serve;
}
export interface Prerequisite {
  flag: string;
  variation: string;
}
export interface EnvConfig {
  enabled: boolean;
  offVariation: string;
  targets: Target[];
  rules: Rule[];
  defaultRule: Serve;
  prerequisites: Prerequisite[];
}
export interface FlagDef {
  key: string;
  name: string;
  description: string;
  type: ValueType;
  variations: Variation[];
  tags: string[];
  clientVisible: boolean;
  salt?: string;
  /** Left out when empty. */
  metadata?: Record<string, MetadataValue>;
}
/** What OpenFeature's flag metadata holds, and so what the admin accepts. */
export type MetadataValue = string | number | boolean;
export interface FlagDoc extends FlagDef {
  environments: Record<string, EnvConfig>;
}
export interface FlagView extends FlagDoc {
  version: number;
  archived: boolean;
  createdAt: string;
  updatedAt: string;
}
export interface SegmentRule {
  id?: string;
  conditions: Condition[];
}
export interface SegmentView {
  id: string;
  key: string;
  name: string;
  description: string;
  included: string[];
  excluded: string[];
  rules: SegmentRule[];
  version: number;
  archived: boolean;
  createdAt: string;
  updatedAt: string;
}
export interface Environment {
  id: string;
  key: string;
  name: string;
  edgeName: string;
  snapshotVersion: number;
  archived: boolean;
  createdAt: string;
}
export interface Project {
  id: string;
  key: string;
  name: string;
  archived?: boolean;
}
export interface SdkKey {
  id: string;
  kind: 'server' | 'client';
  prefix: string;
  createdAt: string;
  expiresAt?: string;
  revokedAt?: string;
  secret?: string;
}
export interface ApiKey {
  id: string;
  name: string;
  role: string;
  prefix: string;
  createdAt: string;
  lastUsedAt?: string;
  revokedAt?: string;
  secret?: string;
}
export interface AuditEntry {
  id: number;
  at: string;
  actor: string;
  action: string;
  resource: string;
  before: Json;
  after: Json;
  requestId: string | null;
}
export interface PublishTarget {
  name: string;
  kind: string;
  deliveredVersion: number;
  attempts: number;
  lastError: string | null;
  lastAttemptAt?: string | null;
  deliveredAt?: string | null;
}
export interface PublishStatus {
  edgeName: string;
  latestVersion: number;
  pendingChanges: number;
  targets: PublishTarget[];
}
export interface Webhook {
  id: string;
  url: string;
  events: string[];
  project: string | null;
  description: string;
  enabled: boolean;
  createdAt: string;
  updatedAt: string;
  secret?: string;
}
export interface Delivery {
  id: string;
  eventId: string;
  event: string;
  status: 'pending' | 'delivered' | 'failed';
  attempts: number;
  responseCode: number | null;
  lastError: string | null;
  createdAt: string;
  lastAttemptAt: string | null;
  deliveredAt: string | null;
  nextAttemptAt?: string | null;
}
export interface VersionEntry {
  version: number;
  actor: string;
  createdAt: string;
}
export interface Change {
  op: 'add' | 'remove' | 'replace';
  path: string;
  from?: Json;
  value?: Json;
}

/** The engine's operators (docs/snapshot-format.md), grouped by what their values are. */
export const OPERATORS: { op: string; label: string; values: 'typed' | 'string' | 'regex' | 'number' | 'semver' | 'date' | 'segment' | 'none' }[] = [
  { op: 'in', label: 'is one of', values: 'typed' },
  { op: 'notIn', label: 'is not one of', values: 'typed' },
  { op: 'startsWith', label: 'starts with', values: 'string' },
  { op: 'endsWith', label: 'ends with', values: 'string' },
  { op: 'contains', label: 'contains', values: 'string' },
  { op: 'matches', label: 'matches regex', values: 'regex' },
  { op: 'lt', label: '<', values: 'number' },
  { op: 'lte', label: '≤', values: 'number' },
  { op: 'gt', label: '>', values: 'number' },
  { op: 'gte', label: '≥', values: 'number' },
  { op: 'eq', label: '=', values: 'number' },
  { op: 'semverEq', label: 'semver =', values: 'semver' },
  { op: 'semverLt', label: 'semver <', values: 'semver' },
  { op: 'semverLte', label: 'semver ≤', values: 'semver' },
  { op: 'semverGt', label: 'semver >', values: 'semver' },
  { op: 'semverGte', label: 'semver ≥', values: 'semver' },
  { op: 'before', label: 'is before', values: 'date' },
  { op: 'after', label: 'is after', values: 'date' },
  { op: 'inSegment', label: 'is in segment', values: 'segment' },
  { op: 'notInSegment', label: 'is not in segment', values: 'segment' },
  { op: 'exists', label: 'exists', values: 'none' },
  { op: 'notExists', label: 'does not exist', values: 'none' },
];

export const CASE_OPS = new Set(['in', 'notIn', 'startsWith', 'endsWith', 'contains', 'matches']);
export const TOTAL_WEIGHT = 100_000;

/** Evaluation counts of one flag in one bucket of one environment (`GET …/flags/{flag}/usage`). */
export interface UsageBucket {
  start: string;
  environment: string;
  count: number;
  variants: Record<string, number>;
  reasons: Record<string, number>;
}
export interface FlagUsage {
  flag: string;
  resolution: 'minute' | 'hour' | 'day';
  from: string;
  to: string;
  total: number;
  buckets: UsageBucket[];
}
/** When a flag was last evaluated in an environment (`GET …/usage/last-evaluated`). */
export interface LastEvaluated {
  flag: string;
  environment: string;
  lastEvaluatedAt: string;
}
