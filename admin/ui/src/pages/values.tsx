// Typed value editors. A variation's value follows the flag's type (a switch for
// booleans, a number field that refuses what is not a number, a JSON editor that checks
// the JSON as one types); a condition's values follow its operator (typed lists for
// `in`, numbers for comparisons, versions, dates, regular expressions, a segment picker).
// Text is kept as typed and the value is committed only when it parses, so a half-typed
// number never reaches the draft.

import { useEffect, useState } from 'preact/hooks';
import { FieldMessage, useInvalid } from '../errors';
import type { Json, SegmentView, ValueType } from '../model';
import { OPERATORS } from '../model';
import { useId } from '../ui';

function show(value: Json, type: ValueType): string {
  if (type === 'object') return JSON.stringify(value, null, 2);
  return value === null || value === undefined ? '' : String(value);
}

/** Parses what was typed as a `type` value: the value, or why not. */
export function parseValue(text: string, type: ValueType): { ok: true; value: Json } | { ok: false; why: string } {
  if (type === 'string') return { ok: true, value: text };
  if (type === 'boolean') return text === 'true' || text === 'false' ? { ok: true, value: text === 'true' } : { ok: false, why: 'choose true or false' };
  if (type === 'number') {
    const n = Number(text);
    return text.trim() !== '' && Number.isFinite(n) ? { ok: true, value: n } : { ok: false, why: `"${text}" is not a number` };
  }
  try {
    const v = JSON.parse(text) as Json;
    return v !== null && typeof v === 'object' ? { ok: true, value: v } : { ok: false, why: 'an object flag needs a JSON object or array' };
  } catch (e) {
    return { ok: false, why: `not JSON: ${(e as Error).message}` };
  }
}

/** Edits one variation's value according to the flag's type. */
export function ValueEditor(props: { id: string; type: ValueType; value: Json; ptr: string; disabled: boolean; label: string; onChange: (v: Json) => void }) {
  const { type, value } = props;
  const [text, setText] = useState(show(value, type));
  const [why, setWhy] = useState<string | undefined>();
  // Follow the draft when it changes from elsewhere (a reload, a restore).
  useEffect(() => {
    const parsed = parseValue(text, type);
    if (!parsed.ok || JSON.stringify(parsed.value) !== JSON.stringify(value)) {
      setText(show(value, type));
      setWhy(undefined);
    }
  }, [JSON.stringify(value), type]);
  const invalid = useInvalid(props.ptr);
  const localId = `${props.id}-why`;
  const input = (t: string) => {
    setText(t);
    const parsed = parseValue(t, type);
    if (parsed.ok) {
      setWhy(undefined);
      props.onChange(parsed.value);
    } else setWhy(parsed.why);
  };
  const aria = { ...invalid, 'aria-invalid': why ? ('true' as const) : invalid['aria-invalid'], 'aria-describedby': why ? localId : invalid['aria-describedby'] };
  return (
    <div class="value-editor">
      {type === 'boolean' ? (
        <select id={props.id} value={text} disabled={props.disabled} onChange={(e) => input(e.currentTarget.value)} {...aria}>
          <option value="true">true</option>
          <option value="false">false</option>
        </select>
      ) : type === 'object' ? (
        <textarea id={props.id} class="mono" rows={Math.min(10, text.split('\n').length + 1)} value={text} disabled={props.disabled} spellcheck={false} onInput={(e) => input(e.currentTarget.value)} {...aria} />
      ) : (
        <input id={props.id} class={type === 'number' ? 'mono' : ''} inputMode={type === 'number' ? 'decimal' : undefined} value={text} disabled={props.disabled} onInput={(e) => input(e.currentTarget.value)} {...aria} />
      )}
      {why && (
        <p class="field-error" id={localId} role="alert">
          {why}
        </p>
      )}
      <FieldMessage ptr={props.ptr} />
    </div>
  );
}

type Kind = (typeof OPERATORS)[number]['values'];
type ListType = 'string' | 'number' | 'boolean';

function typeOf(values: Json[]): ListType {
  const t = typeof values[0];
  return t === 'number' || t === 'boolean' ? t : 'string';
}

function parseLines(text: string, type: ListType, kind?: Kind): { values: Json[]; why?: string } {
  const lines = text.split('\n').map((l) => l.trim()).filter((l) => l !== '');
  const values: Json[] = [];
  for (const [i, line] of lines.entries()) {
    // Dates are RFC 3339 strings or epoch seconds (JSON numbers).
    if (kind === 'date' && /^-?\d+(\.\d+)?$/.test(line)) {
      values.push(Number(line));
      continue;
    }
    const parsed = parseValue(line, type);
    if (!parsed.ok) return { values, why: `line ${i + 1}: ${parsed.why}` };
    values.push(parsed.value);
  }
  return { values };
}

const HINTS: Partial<Record<Kind, string>> = {
  string: 'One per line.',
  regex: 'One regular expression per line (RE2 syntax, unanchored).',
  number: 'One number per line.',
  semver: 'One version per line, e.g. 4.10.0.',
  date: 'One per line: RFC 3339 (2026-12-01T09:00:00Z) or epoch seconds.',
  typed: 'One per line.',
};

/** The values of a condition, edited as its operator needs them. */
export function ConditionValues(props: { op: string; values: Json[]; ptr: string; disabled: boolean; segments: SegmentView[]; onChange: (v: Json[]) => void }) {
  const kind: Kind = OPERATORS.find((o) => o.op === props.op)?.values ?? 'string';
  if (kind === 'none') return <p class="muted small">This operator takes no values.</p>;
  if (kind === 'segment') return <SegmentPicker {...props} />;
  return <LinesEditor {...props} kind={kind} />;
}

function LinesEditor(props: { kind: Kind; values: Json[]; ptr: string; disabled: boolean; onChange: (v: Json[]) => void }) {
  const { kind } = props;
  const fixed: ListType | undefined = kind === 'number' ? 'number' : kind === 'typed' ? undefined : 'string';
  const [type, setType] = useState<ListType>(fixed ?? typeOf(props.values));
  const [text, setText] = useState(props.values.map(String).join('\n'));
  const [why, setWhy] = useState<string | undefined>();
  const id = useId('values');
  const typeId = useId('vtype');
  useEffect(() => {
    const parsed = parseLines(text, type, kind);
    if (parsed.why || JSON.stringify(parsed.values) !== JSON.stringify(props.values)) {
      setText(props.values.map(String).join('\n'));
      setWhy(undefined);
      if (!fixed) setType(typeOf(props.values));
    }
  }, [JSON.stringify(props.values)]);
  useEffect(() => {
    if (fixed) setType(fixed);
  }, [fixed]);
  const commit = (t: string, ty: ListType) => {
    setText(t);
    const parsed = parseLines(t, ty, kind);
    setWhy(parsed.why);
    if (!parsed.why) props.onChange(parsed.values);
  };
  const invalid = useInvalid(`${props.ptr}`);
  return (
    <div class="values">
      {!fixed && (
        <div class="field inline">
          <label for={typeId}>Values are</label>
          <select
            id={typeId}
            value={type}
            disabled={props.disabled}
            onChange={(e) => {
              const ty = e.currentTarget.value as ListType;
              setType(ty);
              commit(text, ty);
            }}
          >
            <option value="string">strings</option>
            <option value="number">numbers</option>
            <option value="boolean">booleans</option>
          </select>
        </div>
      )}
      <label for={id} class="visually-hidden">
        Values
      </label>
      <textarea
        id={id}
        class="mono"
        rows={Math.max(2, Math.min(8, text.split('\n').length))}
        value={text}
        disabled={props.disabled}
        spellcheck={false}
        inputMode={type === 'number' ? 'decimal' : undefined}
        onInput={(e) => commit(e.currentTarget.value, type)}
        {...invalid}
        aria-invalid={why ? 'true' : invalid['aria-invalid']}
      />
      <p class="hint">{HINTS[kind]}</p>
      {why && (
        <p class="field-error" role="alert">
          {why}
        </p>
      )}
      <FieldMessage ptr={props.ptr} />
    </div>
  );
}

function SegmentPicker(props: { values: Json[]; ptr: string; disabled: boolean; segments: SegmentView[]; onChange: (v: Json[]) => void }) {
  const chosen = new Set(props.values.filter((v): v is string => typeof v === 'string'));
  const known = new Set(props.segments.map((s) => s.key));
  const missing = [...chosen].filter((k) => !known.has(k));
  return (
    <fieldset class="segments" data-ptr={props.ptr} tabIndex={-1}>
      <legend>Segments</legend>
      {props.segments.length === 0 && <p class="muted small">This project has no segments yet.</p>}
      {[...props.segments.map((s) => s.key), ...missing].map((key) => {
        const s = props.segments.find((x) => x.key === key);
        return (
          <label key={key} class="check">
            <input
              type="checkbox"
              checked={chosen.has(key)}
              disabled={props.disabled}
              onChange={(e) => {
                const on = e.currentTarget.checked;
                props.onChange(on ? [...props.values, key] : props.values.filter((v) => v !== key));
              }}
            />
            {s ? `${s.name} (${s.key})` : `${key} (unknown segment)`}
          </label>
        );
      })}
      <FieldMessage ptr={props.ptr} />
    </fieldset>
  );
}
