// A flag's metadata: names to strings, numbers or booleans, which the edge returns to
// OpenFeature as flag metadata (docs/snapshot-format.md). Edited as rows of name, type
// and value; a row's pointer is `/metadata/<name>`, where the admin reports a refusal.

import { FieldMessage, useInvalid } from '../errors';
import type { FlagDoc, MetadataValue } from '../model';
import { useId } from '../ui';

type Kind = 'string' | 'number' | 'boolean';

const kindOf = (v: MetadataValue): Kind => (typeof v === 'number' ? 'number' : typeof v === 'boolean' ? 'boolean' : 'string');

/** `value` as `kind`, keeping what can be kept. */
function convert(value: MetadataValue, kind: Kind): MetadataValue {
  if (kind === 'number') return Number.isFinite(Number(value)) ? Number(value) : 0;
  if (kind === 'boolean') return value === true || value === 'true';
  return String(value);
}

/** A JSON Pointer token (RFC 6901). */
const token = (name: string) => name.replaceAll('~', '~0').replaceAll('/', '~1');

export function Metadata({ draft, edit, disabled }: { draft: FlagDoc; edit: (f: (d: FlagDoc) => FlagDoc) => void; disabled: boolean }) {
  const entries = Object.entries(draft.metadata ?? {});
  // Rows keep their order while a name changes; an empty map is left out of the document.
  const setEntries = (next: [string, MetadataValue][]) =>
    edit((d) => {
      const { metadata: _, ...rest } = d;
      return next.length ? { ...rest, metadata: Object.fromEntries(next) } : rest;
    });
  const fresh = () => {
    let n = entries.length + 1;
    while (entries.some(([k]) => k === `name-${n}`)) n++;
    return `name-${n}`;
  };
  return (
    <section aria-labelledby="metadata-title" data-ptr="/metadata" tabIndex={-1}>
      <h2 id="metadata-title">Metadata</h2>
      <p class="hint">Returned with every evaluation as OpenFeature flag metadata: names to strings, numbers or booleans.</p>
      <FieldMessage ptr="/metadata" exact />
      {entries.length > 0 && (
        <table class="list metadata">
          <thead>
            <tr>
              <th scope="col">Name</th>
              <th scope="col">Type</th>
              <th scope="col">Value</th>
              <th scope="col">
                <span class="visually-hidden">Actions</span>
              </th>
            </tr>
          </thead>
          <tbody>
            {entries.map(([name, value], i) => (
              <MetadataRow
                key={i}
                index={i}
                name={name}
                value={value}
                disabled={disabled}
                onName={(to) => setEntries(entries.map((e, j) => (j === i ? [to, e[1]] : e)))}
                onValue={(v) => setEntries(entries.map((e, j) => (j === i ? [e[0], v] : e)))}
                onRemove={() => setEntries(entries.filter((_, j) => j !== i))}
              />
            ))}
          </tbody>
        </table>
      )}
      {!disabled && (
        <button type="button" class="secondary" onClick={() => setEntries([...entries, [fresh(), '']])}>
          Add metadata
        </button>
      )}
    </section>
  );
}

function MetadataRow(props: { index: number; name: string; value: MetadataValue; disabled: boolean; onName: (n: string) => void; onValue: (v: MetadataValue) => void; onRemove: () => void }) {
  const { index: i, name, value } = props;
  const nameId = useId('mk');
  const kindId = useId('mt');
  const valueId = useId('mv');
  const ptr = `/metadata/${token(name)}`;
  const kind = kindOf(value);
  return (
    <tr>
      <td>
        <label for={nameId} class="visually-hidden">
          Name of metadata entry {i + 1}
        </label>
        <input id={nameId} class="mono" value={name} disabled={props.disabled} {...useInvalid(ptr)} onChange={(e) => props.onName(e.currentTarget.value)} />
        <FieldMessage ptr={ptr} />
      </td>
      <td>
        <label for={kindId} class="visually-hidden">
          Type of {name}
        </label>
        <select id={kindId} value={kind} disabled={props.disabled} onChange={(e) => props.onValue(convert(value, e.currentTarget.value as Kind))}>
          <option value="string">string</option>
          <option value="number">number</option>
          <option value="boolean">boolean</option>
        </select>
      </td>
      <td>
        <label for={valueId} class="visually-hidden">
          Value of {name}
        </label>
        {kind === 'boolean' ? (
          <select id={valueId} value={String(value)} disabled={props.disabled} onChange={(e) => props.onValue(e.currentTarget.value === 'true')}>
            <option value="true">true</option>
            <option value="false">false</option>
          </select>
        ) : kind === 'number' ? (
          <input id={valueId} type="number" value={String(value)} disabled={props.disabled} onChange={(e) => props.onValue(convert(e.currentTarget.value, 'number'))} />
        ) : (
          <input id={valueId} type="text" value={String(value)} disabled={props.disabled} onChange={(e) => props.onValue(e.currentTarget.value)} />
        )}
      </td>
      <td>
        {!props.disabled && (
          <button type="button" class="secondary small" aria-label={`Remove metadata ${name}`} onClick={props.onRemove}>
            Remove
          </button>
        )}
      </td>
    </tr>
  );
}
