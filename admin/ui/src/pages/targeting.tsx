// A flag's targeting in one environment, edited in the engine's terms: on/off, the off
// variation, individual targets, prerequisites, rules (built from conditions), and the
// default rule. Every input carries the JSON Pointer of what it edits.

import { FieldMessage, useInvalid } from '../errors';
import type { Condition, EnvConfig, FlagView, Prerequisite, Rule, SegmentView, Serve, Target, Variation } from '../model';
import { CASE_OPS, OPERATORS } from '../model';
import { Switch, useId } from '../ui';
import { evenRollout, RolloutEditor } from './rollout';
import { ConditionValues } from './values';

export interface TargetingProps {
  env: string;
  config: EnvConfig;
  variations: Variation[];
  flagKey: string;
  flags: FlagView[];
  segments: SegmentView[];
  disabled: boolean;
  onChange: (c: EnvConfig) => void;
}

function replace<T>(list: T[], i: number, item: T): T[] {
  return list.map((x, j) => (j === i ? item : x));
}
function remove<T>(list: T[], i: number): T[] {
  return list.filter((_, j) => j !== i);
}
function move<T>(list: T[], i: number, by: number): T[] {
  const next = [...list];
  const [item] = next.splice(i, 1);
  next.splice(Math.max(0, Math.min(next.length, i + by)), 0, item as T);
  return next;
}

function VariationSelect(props: { id?: string; value: string; variations: Variation[]; ptr: string; disabled: boolean; label?: string; onChange: (v: string) => void }) {
  const known = props.variations.some((v) => v.key === props.value);
  return (
    <select id={props.id} value={props.value} disabled={props.disabled} aria-label={props.label} {...useInvalid(props.ptr)} onChange={(e) => props.onChange(e.currentTarget.value)}>
      {!known && <option value={props.value}>{props.value || '(none)'} — not a variation</option>}
      {props.variations.map((v) => (
        <option key={v.key} value={v.key}>
          {v.key} ({JSON.stringify(v.value)})
        </option>
      ))}
    </select>
  );
}

export function EnvTargeting(props: TargetingProps) {
  const { env, config, variations, disabled, onChange } = props;
  const base = `/environments/${env}`;
  const offId = useId('off');
  const set = (patch: Partial<EnvConfig>) => onChange({ ...config, ...patch });
  return (
    <div class="targeting">
      <div class="row gap">
        <div class="field inline">
          <span class="label" id={`${offId}-on`}>
            Enabled in {env}
          </span>
          <Switch checked={config.enabled} label={`Enabled in ${env}`} disabled={disabled} onChange={(on) => set({ enabled: on })} />
        </div>
        <div class="field inline">
          <label for={offId}>Off variation</label>
          <VariationSelect id={offId} value={config.offVariation} variations={variations} ptr={`${base}/offVariation`} disabled={disabled} onChange={(v) => set({ offVariation: v })} />
          <FieldMessage ptr={`${base}/offVariation`} />
        </div>
      </div>

      <h3>Prerequisites</h3>
      <Prerequisites {...props} base={base} />

      <h3>Individual targets</h3>
      <Targets {...props} base={base} />

      <h3>Rules</h3>
      <p class="hint">Evaluated in order; the first rule whose conditions all match serves.</p>
      {config.rules.map((rule, i) => (
        <RuleEditor
          key={i}
          rule={rule}
          index={i}
          count={config.rules.length}
          ptr={`${base}/rules/${i}`}
          {...props}
          onRule={(r) => set({ rules: r === null ? remove(config.rules, i) : replace(config.rules, i, r) })}
          onMove={(by) => set({ rules: move(config.rules, i, by) })}
        />
      ))}
      {!disabled && (
        <button
          type="button"
          class="secondary"
          onClick={() =>
            set({ rules: [...config.rules, { conditions: [{ attribute: 'targetingKey', op: 'in', values: [] }], serve: { variation: variations[0]?.key ?? '' } }] })
          }
        >
          Add rule
        </button>
      )}

      <h3>Default rule</h3>
      <p class="hint">What everybody else gets.</p>
      <ServeEditor serve={config.defaultRule} ptr={`${base}/defaultRule`} variations={variations} disabled={disabled} label="Default rule" onChange={(s) => set({ defaultRule: s })} />
    </div>
  );
}

function Prerequisites(props: TargetingProps & { base: string }) {
  const { config, flags, flagKey, disabled, onChange, base } = props;
  const others = flags.filter((f) => f.key !== flagKey && !f.archived);
  const set = (prerequisites: Prerequisite[]) => onChange({ ...config, prerequisites });
  return (
    <div>
      {config.prerequisites.length === 0 && <p class="muted small">None: the flag does not depend on other flags.</p>}
      <ul class="plain">
        {config.prerequisites.map((p, i) => {
          const ptr = `${base}/prerequisites/${i}`;
          const target = others.find((f) => f.key === p.flag);
          return (
            <li key={i} class="row gap" data-ptr={ptr} tabIndex={-1}>
              <label>
                Flag{' '}
                <FlagSelect value={p.flag} flags={others} ptr={`${ptr}/flag`} disabled={disabled} onChange={(key) => set(replace(config.prerequisites, i, { flag: key, variation: others.find((f) => f.key === key)?.variations[0]?.key ?? '' }))} />
              </label>
              <label>
                must serve{' '}
                <VariationSelect value={p.variation} variations={target?.variations ?? []} ptr={`${ptr}/variation`} disabled={disabled} onChange={(v) => set(replace(config.prerequisites, i, { ...p, variation: v }))} />
              </label>
              {!disabled && (
                <button type="button" class="secondary small" aria-label={`Remove prerequisite ${i + 1}`} onClick={() => set(remove(config.prerequisites, i))}>
                  Remove
                </button>
              )}
              <FieldMessage ptr={ptr} />
            </li>
          );
        })}
      </ul>
      {!disabled && others.length > 0 && (
        <button type="button" class="secondary" onClick={() => set([...config.prerequisites, { flag: others[0]!.key, variation: others[0]!.variations[0]?.key ?? '' }])}>
          Add prerequisite
        </button>
      )}
    </div>
  );
}

function FlagSelect(props: { value: string; flags: FlagView[]; ptr: string; disabled: boolean; onChange: (key: string) => void }) {
  const known = props.flags.some((f) => f.key === props.value);
  return (
    <select value={props.value} disabled={props.disabled} {...useInvalid(props.ptr)} onChange={(e) => props.onChange(e.currentTarget.value)}>
      {!known && <option value={props.value}>{props.value} (unknown)</option>}
      {props.flags.map((f) => (
        <option key={f.key} value={f.key}>
          {f.key}
        </option>
      ))}
    </select>
  );
}

function Targets(props: TargetingProps & { base: string }) {
  const { config, variations, disabled, onChange, base } = props;
  const set = (targets: Target[]) => onChange({ ...config, targets });
  return (
    <div>
      {config.targets.length === 0 && <p class="muted small">No individual targets.</p>}
      {config.targets.map((t, i) => (
        <TargetEditor key={i} target={t} ptr={`${base}/targets/${i}`} variations={variations} disabled={disabled} onChange={(n) => set(n === null ? remove(config.targets, i) : replace(config.targets, i, n))} />
      ))}
      {!disabled && (
        <button type="button" class="secondary" onClick={() => set([...config.targets, { variation: variations[0]?.key ?? '', values: [] }])}>
          Add targets
        </button>
      )}
    </div>
  );
}

function TargetEditor(props: { target: Target; ptr: string; variations: Variation[]; disabled: boolean; onChange: (t: Target | null) => void }) {
  const { target, ptr } = props;
  const id = useId('targets');
  const vid = useId('tvar');
  return (
    <div class="card target">
      <div class="field inline">
        <label for={vid}>Serve</label>
        <VariationSelect id={vid} value={target.variation} variations={props.variations} ptr={`${ptr}/variation`} disabled={props.disabled} onChange={(v) => props.onChange({ ...target, variation: v })} />
        <FieldMessage ptr={`${ptr}/variation`} />
      </div>
      <label for={id}>to these targeting keys (one per line)</label>
      <textarea
        id={id}
        class="mono"
        rows={3}
        value={target.values.join('\n')}
        disabled={props.disabled}
        {...useInvalid(`${ptr}/values`)}
        onInput={(e) => props.onChange({ ...target, values: e.currentTarget.value.split('\n').map((s) => s.trim()).filter(Boolean) })}
      />
      <FieldMessage ptr={`${ptr}/values`} />
      {!props.disabled && (
        <button type="button" class="secondary small" onClick={() => props.onChange(null)}>
          Remove these targets
        </button>
      )}
    </div>
  );
}

function RuleEditor(props: TargetingProps & { rule: Rule; index: number; count: number; ptr: string; onRule: (r: Rule | null) => void; onMove: (by: number) => void }) {
  const { rule, index, ptr, disabled, variations } = props;
  const idId = useId('rid');
  const set = (patch: Partial<Rule>) => props.onRule({ ...rule, ...patch });
  const title = `Rule ${index + 1}${rule.id ? ` (${rule.id})` : ''}`;
  return (
    <fieldset class="card rule" data-ptr={ptr} tabIndex={-1}>
      <legend>{title}</legend>
      <div class="row gap">
        <div class="field inline">
          <label for={idId}>Rule id</label>
          <input
            id={idId}
            class="mono"
            value={rule.id ?? ''}
            placeholder="optional"
            disabled={disabled}
            {...useInvalid(`${ptr}/id`)}
            onInput={(e) => {
              const { id: _, ...rest } = rule;
              const v = e.currentTarget.value;
              props.onRule(v ? { ...rest, id: v } : rest);
            }}
          />
        </div>
        {!disabled && (
          <div class="row gap end">
            <button type="button" class="secondary small" disabled={index === 0} aria-label={`Move rule ${index + 1} up`} onClick={() => props.onMove(-1)}>
              ↑
            </button>
            <button type="button" class="secondary small" disabled={index === props.count - 1} aria-label={`Move rule ${index + 1} down`} onClick={() => props.onMove(1)}>
              ↓
            </button>
            <button type="button" class="secondary small" aria-label={`Remove rule ${index + 1}`} onClick={() => props.onRule(null)}>
              Remove rule
            </button>
          </div>
        )}
      </div>
      <p class="muted small">{rule.conditions.length === 0 ? 'No conditions: matches every context.' : 'All conditions must match:'}</p>
      {rule.conditions.map((c, j) => (
        <ConditionEditor
          key={j}
          condition={c}
          ptr={`${ptr}/conditions/${j}`}
          label={`Rule ${index + 1}, condition ${j + 1}`}
          segments={props.segments}
          disabled={disabled}
          onChange={(n) => set({ conditions: n === null ? remove(rule.conditions, j) : replace(rule.conditions, j, n) })}
        />
      ))}
      {!disabled && (
        <button type="button" class="secondary small" onClick={() => set({ conditions: [...rule.conditions, { attribute: '', op: 'in', values: [] }] })}>
          Add condition
        </button>
      )}
      <FieldMessage ptr={`${ptr}/conditions`} exact />
      <h4>Then serve</h4>
      <ServeEditor serve={rule.serve} ptr={`${ptr}/serve`} variations={variations} disabled={disabled} label={`Rule ${index + 1} serves`} onChange={(s) => set({ serve: s })} />
    </fieldset>
  );
}

const ATTRIBUTES = ['targetingKey', 'email', 'country', 'plan', 'appVersion', 'userAgent', '$now'];

/** One condition: attribute, operator, typed values, case and negation. Shared with segments. */
export function ConditionEditor(props: { condition: Condition; ptr: string; label: string; segments: SegmentView[]; disabled: boolean; noSegments?: boolean; onChange: (c: Condition | null) => void }) {
  const { condition: c, ptr, disabled } = props;
  const attrId = useId('attr');
  const opId = useId('op');
  const set = (patch: Partial<Condition>) => props.onChange({ ...c, ...patch });
  const segmentOp = c.op === 'inSegment' || c.op === 'notInSegment';
  const ops = props.noSegments ? OPERATORS.filter((o) => o.values !== 'segment') : OPERATORS;
  return (
    <div class="condition" role="group" aria-label={props.label} data-ptr={ptr} tabIndex={-1}>
      {!segmentOp && (
        <div class="field">
          <label for={attrId}>Attribute</label>
          <input
            id={attrId}
            class="mono"
            list="attribute-names"
            value={c.attribute ?? ''}
            placeholder="email, /address/country, $now"
            disabled={disabled}
            {...useInvalid(`${ptr}/attribute`)}
            onInput={(e) => set({ attribute: e.currentTarget.value })}
          />
          <datalist id="attribute-names">
            {ATTRIBUTES.map((a) => (
              <option key={a} value={a} />
            ))}
          </datalist>
          <FieldMessage ptr={`${ptr}/attribute`} />
        </div>
      )}
      <div class="field">
        <label for={opId}>Operator</label>
        <select
          id={opId}
          value={c.op}
          disabled={disabled}
          {...useInvalid(`${ptr}/op`)}
          onChange={(e) => {
            const op = e.currentTarget.value;
            const wasSegment = segmentOp;
            const isSegment = op === 'inSegment' || op === 'notInSegment';
            const takesNone = OPERATORS.find((o) => o.op === op)?.values === 'none';
            const next: Condition = { ...c, op, values: wasSegment !== isSegment || takesNone ? [] : c.values };
            if (isSegment) delete next.attribute;
            else if (next.attribute === undefined) next.attribute = '';
            if (!CASE_OPS.has(op)) delete next.caseInsensitive;
            props.onChange(next);
          }}
        >
          {ops.map((o) => (
            <option key={o.op} value={o.op}>
              {o.label} ({o.op})
            </option>
          ))}
        </select>
        <FieldMessage ptr={`${ptr}/op`} />
      </div>
      <div class="field grow">
        <ConditionValues op={c.op} values={c.values} ptr={`${ptr}/values`} disabled={disabled} segments={props.segments} onChange={(values) => set({ values })} />
      </div>
      <div class="field checks">
        {CASE_OPS.has(c.op) && (
          <label class="check">
            <input
              type="checkbox"
              checked={!!c.caseInsensitive}
              disabled={disabled}
              onChange={(e) => {
                const { caseInsensitive: _, ...rest } = c;
                props.onChange(e.currentTarget.checked ? { ...rest, caseInsensitive: true } : rest);
              }}
            />
            ignore case
          </label>
        )}
        <label class="check">
          <input
            type="checkbox"
            checked={!!c.negate}
            disabled={disabled}
            onChange={(e) => {
              const { negate: _, ...rest } = c;
              props.onChange(e.currentTarget.checked ? { ...rest, negate: true } : rest);
            }}
          />
          negate
        </label>
        {!disabled && (
          <button type="button" class="secondary small" aria-label={`Remove ${props.label.toLowerCase()}`} onClick={() => props.onChange(null)}>
            Remove
          </button>
        )}
      </div>
      <FieldMessage ptr={ptr} exact />
    </div>
  );
}

/** Serve one variation, or a percentage rollout. */
export function ServeEditor(props: { serve: Serve; ptr: string; variations: Variation[]; disabled: boolean; label: string; onChange: (s: Serve) => void }) {
  const { serve, ptr, variations, disabled } = props;
  const name = useId('serve');
  const selId = useId('sv');
  const isRollout = !!serve.rollout;
  return (
    <fieldset class="serve" data-ptr={ptr} tabIndex={-1}>
      <legend class="visually-hidden">{props.label}</legend>
      <div class="row gap">
        <label class="check">
          <input type="radio" name={name} checked={!isRollout} disabled={disabled} onChange={() => props.onChange({ variation: serve.rollout?.variations[0]?.variation ?? variations[0]?.key ?? '' })} />
          one variation
        </label>
        <label class="check">
          <input type="radio" name={name} checked={isRollout} disabled={disabled} onChange={() => props.onChange({ rollout: evenRollout(variations.map((v) => v.key)) })} />
          a percentage rollout
        </label>
      </div>
      {!isRollout ? (
        <div class="field inline">
          <label for={selId}>Variation</label>
          <VariationSelect id={selId} value={serve.variation ?? ''} variations={variations} ptr={`${ptr}/variation`} disabled={disabled} onChange={(v) => props.onChange({ variation: v })} />
          <FieldMessage ptr={`${ptr}/variation`} />
        </div>
      ) : (
        <RolloutEditor rollout={serve.rollout!} ptr={`${ptr}/rollout`} disabled={disabled} onChange={(r) => props.onChange({ rollout: r })} />
      )}
      <FieldMessage ptr={ptr} exact />
    </fieldset>
  );
}
