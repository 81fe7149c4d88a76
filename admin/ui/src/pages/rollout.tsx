// A percentage rollout as a bar whose weights always sum to 100 %: dragging (or moving
// with the arrow keys) the boundary between two variations moves weight from one to
// the other; typing one variation's percentage takes the difference from the
// variations after it (then before it). Weights are the engine's units, 1/100,000.

import { useRef } from 'preact/hooks';
import { errorId, FieldMessage, useInvalid } from '../errors';
import { type Rollout, TOTAL_WEIGHT } from '../model';
import { useId } from '../ui';

/** Sets weight `i` to `w` (clamped), taking or giving the difference to the others. */
export function setWeight(weights: number[], i: number, w: number): number[] {
  const next = [...weights];
  const target = Math.max(0, Math.min(TOTAL_WEIGHT, Math.round(w)));
  let delta = target - (next[i] ?? 0);
  next[i] = target;
  const order = [...next.keys()].filter((j) => j > i).concat([...next.keys()].filter((j) => j < i));
  for (const j of order) {
    if (delta === 0) break;
    const have = next[j]!;
    const change = delta > 0 ? Math.min(have, delta) : Math.max(have - TOTAL_WEIGHT, delta);
    next[j] = have - change;
    delta -= change;
  }
  return next;
}

/** Splits 100 % evenly over `keys` (the remainder goes to the first). */
export function evenRollout(keys: string[]): Rollout {
  const share = Math.floor(TOTAL_WEIGHT / Math.max(1, keys.length));
  return {
    variations: keys.map((variation, i) => ({ variation, weight: share + (i === 0 ? TOTAL_WEIGHT - share * keys.length : 0) })),
  };
}

export const percent = (w: number) => `${(w / 1000).toFixed(3).replace(/\.?0+$/, '')} %`;

export function RolloutEditor(props: { rollout: Rollout; ptr: string; disabled: boolean; onChange: (r: Rollout) => void }) {
  const { rollout, ptr, disabled, onChange } = props;
  const weights = rollout.variations.map((v) => v.weight);
  const bar = useRef<HTMLDivElement>(null);
  const bucketId = useId('bucket');
  const set = (next: number[]) =>
    onChange({ ...rollout, variations: rollout.variations.map((v, i) => ({ ...v, weight: next[i]! })) });
  // Moving boundary `i` (after variation i) to `at` units from the left.
  const moveBoundary = (i: number, at: number) => {
    const start = weights.slice(0, i).reduce((a, b) => a + b, 0);
    const end = start + weights[i]! + weights[i + 1]!;
    const clamped = Math.max(start, Math.min(end, Math.round(at)));
    const next = [...weights];
    next[i] = clamped - start;
    next[i + 1] = end - clamped;
    set(next);
  };
  const drag = (i: number) => (e: PointerEvent) => {
    if (disabled || !bar.current) return;
    const el = e.currentTarget as HTMLElement;
    el.setPointerCapture(e.pointerId);
    const rect = bar.current.getBoundingClientRect();
    const move = (ev: PointerEvent) => {
      // Steps of 0.1 % when dragging; the inputs take any 0.001 %.
      const at = Math.round((((ev.clientX - rect.left) / rect.width) * TOTAL_WEIGHT) / 100) * 100;
      moveBoundary(i, at);
    };
    const up = () => {
      el.removeEventListener('pointermove', move);
      el.removeEventListener('pointerup', up);
    };
    el.addEventListener('pointermove', move);
    el.addEventListener('pointerup', up);
  };
  const key = (i: number, at: number) => (e: KeyboardEvent) => {
    if (disabled) return;
    const step = e.shiftKey ? 100 : 1000;
    const moves: Record<string, number> = { ArrowLeft: -step, ArrowDown: -step, ArrowRight: step, ArrowUp: step, PageDown: -10_000, PageUp: 10_000 };
    if (e.key in moves) {
      e.preventDefault();
      moveBoundary(i, at + moves[e.key]!);
    }
  };
  let left = 0;
  const total = weights.reduce((a, b) => a + b, 0);
  return (
    <div class="rollout" data-ptr={`${ptr}/variations`} tabIndex={-1}>
      <div class="field">
        <label for={bucketId}>Bucket by</label>
        <input
          id={bucketId}
          class="mono"
          placeholder="targetingKey"
          value={rollout.bucketBy ?? ''}
          disabled={disabled}
          {...useInvalid(`${ptr}/bucketBy`)}
          onInput={(e) => {
            const v = e.currentTarget.value;
            const { bucketBy: _, ...rest } = rollout;
            onChange(v ? { ...rest, bucketBy: v } : rest);
          }}
        />
        <FieldMessage ptr={`${ptr}/bucketBy`} />
      </div>
      <div class="bar" ref={bar} role="group" aria-label="Rollout: share of each variation">
        {rollout.variations.map((v, i) => {
          const start = left;
          left += v.weight;
          return (
            <div key={i} class={`slice c${i % 6}`} style={{ left: `${(start / TOTAL_WEIGHT) * 100}%`, width: `${(v.weight / TOTAL_WEIGHT) * 100}%` }}>
              <span>
                {v.variation} {percent(v.weight)}
              </span>
            </div>
          );
        })}
        {rollout.variations.slice(0, -1).map((v, i) => {
          const at = weights.slice(0, i + 1).reduce((a, b) => a + b, 0);
          const next = rollout.variations[i + 1]!.variation;
          return (
            <div
              key={`h${i}`}
              class="handle"
              role="slider"
              tabIndex={disabled ? -1 : 0}
              aria-disabled={disabled ? 'true' : undefined}
              aria-label={`Boundary between ${v.variation} and ${next}`}
              aria-valuemin={0}
              aria-valuemax={100}
              aria-valuenow={at / 1000}
              aria-valuetext={`${v.variation} ${percent(weights[i]!)}, ${next} ${percent(weights[i + 1]!)}`}
              style={{ left: `${(at / TOTAL_WEIGHT) * 100}%` }}
              onPointerDown={drag(i)}
              onKeyDown={key(i, at)}
            />
          );
        })}
      </div>
      <ul class="weights">
        {rollout.variations.map((v, i) => (
          <WeightInput key={i} label={v.variation} weight={v.weight} ptr={`${ptr}/variations/${i}/weight`} disabled={disabled} onChange={(w) => set(setWeight(weights, i, w))} />
        ))}
      </ul>
      <p class={total === TOTAL_WEIGHT ? 'muted small' : 'field-error'} id={errorId(`${ptr}/total`)}>
        Total {percent(total)}
      </p>
      <FieldMessage ptr={`${ptr}/variations`} exact />
    </div>
  );
}

function WeightInput(props: { label: string; weight: number; ptr: string; disabled: boolean; onChange: (w: number) => void }) {
  const id = useId('w');
  return (
    <li>
      <label for={id}>{props.label}</label>
      <input
        id={id}
        type="number"
        min={0}
        max={100}
        step={0.001}
        value={props.weight / 1000}
        disabled={props.disabled}
        {...useInvalid(props.ptr)}
        onChange={(e) => {
          const n = Number(e.currentTarget.value);
          if (Number.isFinite(n)) props.onChange(n * 1000);
        }}
      />
      <span aria-hidden="true">%</span>
      <FieldMessage ptr={props.ptr} />
    </li>
  );
}
