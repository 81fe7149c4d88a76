// The OpenFeature server provider (`@openfeature/server-sdk`) for node and Workers:
// per-request contexts, evaluated by the local engine with no request per flag.

import {
  OpenFeatureEventEmitter,
  ProviderEvents,
  type EvaluationContext,
  type JsonValue,
  type Provider,
  type ResolutionDetails,
} from '@openfeature/server-sdk';
import type { EdgeflagClient } from '../client.js';
import { resolve } from './resolve.js';

export class EdgeflagServerProvider implements Provider {
  readonly metadata = { name: 'edgeflag' } as const;
  readonly runsOn = 'server' as const;
  readonly events = new OpenFeatureEventEmitter();
  readonly #source: EdgeflagClient | Promise<EdgeflagClient>;
  #client: EdgeflagClient | undefined;
  #unsubscribe: Array<() => void> = [];

  /** Give it a client, or the promise `createClient(…)` returns. */
  constructor(client: EdgeflagClient | Promise<EdgeflagClient>) {
    this.#source = client;
  }

  async initialize(): Promise<void> {
    const client = await this.#source;
    this.#unsubscribe = [
      client.on('change', (e) => this.events.emit(ProviderEvents.ConfigurationChanged, { flagsChanged: e.flags })),
      client.on('error', (e) => this.events.emit(ProviderEvents.Error, { message: e.message })),
    ];
    this.#client = client;
  }

  async onClose(): Promise<void> {
    for (const off of this.#unsubscribe) off();
    this.#client?.close();
  }

  async resolveBooleanEvaluation(flagKey: string, defaultValue: boolean, context: EvaluationContext): Promise<ResolutionDetails<boolean>> {
    return resolve(this.#client, flagKey, 'boolean', defaultValue, context);
  }

  async resolveStringEvaluation(flagKey: string, defaultValue: string, context: EvaluationContext): Promise<ResolutionDetails<string>> {
    return resolve(this.#client, flagKey, 'string', defaultValue, context);
  }

  async resolveNumberEvaluation(flagKey: string, defaultValue: number, context: EvaluationContext): Promise<ResolutionDetails<number>> {
    return resolve(this.#client, flagKey, 'number', defaultValue, context);
  }

  async resolveObjectEvaluation<T extends JsonValue>(flagKey: string, defaultValue: T, context: EvaluationContext): Promise<ResolutionDetails<T>> {
    return resolve(this.#client, flagKey, 'object', defaultValue, context);
  }
}
