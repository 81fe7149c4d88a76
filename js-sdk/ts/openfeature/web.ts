// The OpenFeature web provider (`@openfeature/web-sdk`): static context, synchronous
// evaluation by the local engine, configuration-changed events from snapshot updates.

import {
  OpenFeatureEventEmitter,
  ProviderEvents,
  type EvaluationContext,
  type JsonValue,
  type Provider,
  type ResolutionDetails,
} from '@openfeature/web-sdk';
import type { EdgeflagClient } from '../client.js';
import { resolve } from './resolve.js';

export class EdgeflagWebProvider implements Provider {
  readonly metadata = { name: 'edgeflag' } as const;
  readonly runsOn = 'client' as const;
  readonly events = new OpenFeatureEventEmitter();
  readonly #source: EdgeflagClient | Promise<EdgeflagClient>;
  #client: EdgeflagClient | undefined;
  #unsubscribe: Array<() => void> = [];

  /** Give it a client, or the promise `createClient(…)` returns. */
  constructor(client: EdgeflagClient | Promise<EdgeflagClient>) {
    this.#source = client;
  }

  async initialize(context?: EvaluationContext): Promise<void> {
    const client = await this.#source;
    if (context !== undefined) client.setContext(context);
    this.#unsubscribe = [
      client.on('change', (e) => this.events.emit(ProviderEvents.ConfigurationChanged, { flagsChanged: e.flags })),
      client.on('error', (e) => this.events.emit(ProviderEvents.Error, { message: e.message })),
    ];
    this.#client = client;
  }

  onContextChange(_old: EvaluationContext, next: EvaluationContext): void {
    this.#client?.setContext(next);
  }

  async onClose(): Promise<void> {
    for (const off of this.#unsubscribe) off();
    this.#client?.close();
  }

  resolveBooleanEvaluation(flagKey: string, defaultValue: boolean, context: EvaluationContext): ResolutionDetails<boolean> {
    return resolve(this.#client, flagKey, 'boolean', defaultValue, context);
  }

  resolveStringEvaluation(flagKey: string, defaultValue: string, context: EvaluationContext): ResolutionDetails<string> {
    return resolve(this.#client, flagKey, 'string', defaultValue, context);
  }

  resolveNumberEvaluation(flagKey: string, defaultValue: number, context: EvaluationContext): ResolutionDetails<number> {
    return resolve(this.#client, flagKey, 'number', defaultValue, context);
  }

  resolveObjectEvaluation<T extends JsonValue>(flagKey: string, defaultValue: T, context: EvaluationContext): ResolutionDetails<T> {
    return resolve(this.#client, flagKey, 'object', defaultValue, context);
  }
}
