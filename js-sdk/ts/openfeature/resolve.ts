// The mapping from the engine's answer to OpenFeature's resolution details,
// shared by the web and the server provider.

import type { EdgeflagClient } from '../client.js';
import type { EvaluationResult, FlagType } from '../types.js';

export interface Resolution<T> {
  value: T;
  variant?: string;
  reason?: string;
  errorCode?: never;
  errorMessage?: string;
  flagMetadata?: Record<string, string | number | boolean>;
}

function metadata(r: EvaluationResult): Record<string, string | number | boolean> {
  const out: Record<string, string | number | boolean> = {};
  if (r.flagVersion !== undefined) out.flagVersion = r.flagVersion;
  if (r.ruleId !== undefined) out.ruleId = r.ruleId;
  if (r.ruleIndex !== undefined) out.ruleIndex = r.ruleIndex;
  if (r.failedPrerequisite !== undefined) out.failedPrerequisite = r.failedPrerequisite;
  return out;
}

/** Evaluates through the local engine; on `ERROR` the caller's default is the value. */
export function resolve<T>(
  client: EdgeflagClient | undefined,
  flagKey: string,
  type: FlagType,
  defaultValue: T,
  context: unknown,
): Resolution<T> {
  if (client === undefined) {
    return { value: defaultValue, reason: 'ERROR', errorCode: 'PROVIDER_NOT_READY' as never, errorMessage: 'provider is not initialized' };
  }
  const r = client.evaluate(flagKey, context, type);
  const base = { variant: r.variant, reason: r.reason, flagMetadata: metadata(r) };
  if (r.reason === 'ERROR') {
    // OpenFeature's ErrorCode values are these same strings.
    return { ...base, value: defaultValue, errorCode: r.errorCode as never, errorMessage: r.errorMessage };
  }
  return { ...base, value: r.value as T };
}
