// Validation errors at their field. The API answers a 422 with a JSON Pointer into the
// request body; the preview engine reports load warnings with a pointer into the flag.
// Both are turned into pointers into the flag document the editor holds
// (`/variations/1/value`, `/environments/production/rules/0/conditions/0/values/0`), and
// every input declares the pointer it edits (`data-ptr`). A field shows the errors at
// its pointer or below it; a summary lists every error in words with a link that moves
// focus to the field.

import { createContext } from 'preact';
import { useContext } from 'preact/hooks';

export interface FieldError {
  path: string;
  message: string;
  /** `server` (the API refused the save) or `engine` (the preview's loader, live). */
  source: 'server' | 'engine';
}

/** Definition fields the engine reports under an environment's pointer. */
const DEFINITION = new Set(['key', 'type', 'variations', 'salt', 'clientVisible', 'tags', 'description', 'name', 'metadata']);

/** Moves a pointer the engine or the API gave for one environment to the flag document. */
export function flagPointer(path: string, env?: string): string {
  const m = /^\/environments\/([^/]+)(\/[^/]+)?(.*)$/.exec(path);
  if (m) {
    const field = (m[2] ?? '').slice(1);
    return DEFINITION.has(field) ? `/${field}${m[3]}` : path;
  }
  if (env === undefined) return path;
  const field = path.split('/')[1] ?? '';
  return DEFINITION.has(field) ? path : `/environments/${env}${path}`;
}

export const Errors = createContext<FieldError[]>([]);

/** The errors at `ptr` (and, unless `exact`, below it). */
export function useFieldErrors(ptr: string, exact = false): FieldError[] {
  const all = useContext(Errors);
  return all.filter((e) => e.path === ptr || (!exact && e.path.startsWith(`${ptr}/`)));
}

export function errorId(ptr: string): string {
  return `err${ptr.replace(/[^A-Za-z0-9_-]/g, '_')}`;
}

export function FieldMessage({ ptr, exact }: { ptr: string; exact?: boolean }) {
  const errors = useFieldErrors(ptr, exact);
  if (errors.length === 0) return null;
  return (
    <p class="field-error" id={errorId(ptr)} role="alert">
      {errors.map((e) => (
        <span key={e.path + e.message}>
          {e.message}
          {e.source === 'engine' ? ' (engine)' : ''}
        </span>
      ))}
    </p>
  );
}

/** Attributes for an input editing `ptr`: its pointer, invalid state and description. */
export function useInvalid(ptr: string, exact = false) {
  const errors = useFieldErrors(ptr, exact);
  return {
    'data-ptr': ptr,
    'aria-invalid': errors.length > 0 ? ('true' as const) : undefined,
    'aria-describedby': errors.length > 0 ? errorId(ptr) : undefined,
  };
}

/** "production › rule 1 › condition 2 › values › 1" for `/environments/production/rules/0/conditions/1/values/0`. */
export function describePointer(path: string): string {
  const parts = path.split('/').slice(1).map((p) => p.replace(/~1/g, '/').replace(/~0/g, '~'));
  const words: string[] = [];
  for (let i = 0; i < parts.length; i++) {
    const part = parts[i]!;
    const next = parts[i + 1];
    const n = next !== undefined && /^\d+$/.test(next) ? Number(next) + 1 : undefined;
    if (part === 'environments' && next !== undefined) {
      words.push(next);
      i++;
    } else if (n !== undefined) {
      const singular: Record<string, string> = { rules: 'rule', conditions: 'condition', values: 'value', variations: 'variation', targets: 'target', prerequisites: 'prerequisite' };
      words.push(`${singular[part] ?? part} ${n}`);
      i++;
    } else {
      words.push(part);
    }
  }
  return words.join(' › ') || 'the flag';
}

/** Focuses the input that edits `path`, or the closest one above it. */
export function focusField(path: string): void {
  let p = path;
  while (p) {
    const el = document.querySelector<HTMLElement>(`[data-ptr="${CSS.escape(p)}"]`);
    if (el) {
      el.focus();
      el.scrollIntoView({ block: 'center' });
      return;
    }
    p = p.slice(0, p.lastIndexOf('/'));
  }
}

export function ErrorSummary({ errors, title }: { errors: FieldError[]; title: string }) {
  if (errors.length === 0) return null;
  return (
    <div class="error-summary" role="alert" aria-labelledby="error-summary-title">
      <h2 id="error-summary-title">{title}</h2>
      <ul>
        {errors.map((e) => (
          <li key={e.path + e.message}>
            <button type="button" class="link" onClick={() => focusField(e.path)}>
              {describePointer(e.path)}
            </button>
            : {e.message}
          </li>
        ))}
      </ul>
    </div>
  );
}
