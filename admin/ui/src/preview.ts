// The preview engine: the JS SDK adapter built with its `preview` feature
// (js-sdk/src/preview.rs), loaded on first use. It evaluates snapshots the page built
// itself (snapshot.ts) without a signature; nothing fetched from the network goes in.

import init, { Preview } from '../build/wasm/edgeflag_js.js';
import wasmUrl from '../build/wasm/edgeflag_js_bg.wasm';

export interface Warning {
  kind: string;
  key: string | null;
  path: string;
  message: string;
}

export interface Detail {
  value?: unknown;
  variant?: string;
  reason: string;
  errorCode?: string;
  errorMessage?: string;
  ruleIndex?: number;
  ruleId?: string;
  failedPrerequisite?: string;
  flagVersion?: number;
}

let ready: Promise<unknown> | undefined;

/** Resolves once the engine's wasm is compiled (once per page). */
export function loadEngine(): Promise<unknown> {
  ready ??= init({ module_or_path: wasmUrl });
  return ready as Promise<unknown>;
}

/** One unsigned snapshot in the engine. Call `free()` when done. */
export class DraftEngine {
  private readonly inner = new Preview();
  warnings: Warning[] = [];
  loadError: string | undefined;

  /** Loads the snapshot; answers the engine's warnings. */
  load(snapshotJson: string): Warning[] {
    const answer = JSON.parse(this.inner.loadUnverified(snapshotJson)) as
      | { ok: { warnings: Warning[] } }
      | { error: { message: string } };
    if ('ok' in answer) {
      this.warnings = answer.ok.warnings;
      this.loadError = undefined;
    } else {
      this.warnings = [];
      this.loadError = answer.error.message;
    }
    return this.warnings;
  }

  evaluate(flag: string, contextJson: string, nowMs: number): Detail {
    return JSON.parse(this.inner.evaluate(flag, contextJson, nowMs)) as Detail;
  }

  free(): void {
    this.inner.free();
  }
}
