// The admin's structural diff (admin-core/src/versions.rs `json_diff`) in the page, for
// audit entries, whose before and after documents come without one.

import type { Change, Json } from './model';

const esc = (k: string) => k.replace(/~/g, '~0').replace(/\//g, '~1');

export function diff(from: Json, to: Json, path = '', out: Change[] = []): Change[] {
  const isObj = (v: Json): v is Record<string, Json> => v !== null && typeof v === 'object' && !Array.isArray(v);
  if (isObj(from) && isObj(to)) {
    for (const [k, v] of Object.entries(from)) {
      const p = `${path}/${esc(k)}`;
      if (k in to) diff(v, to[k]!, p, out);
      else out.push({ op: 'remove', path: p, from: v });
    }
    for (const [k, v] of Object.entries(to)) if (!(k in from)) out.push({ op: 'add', path: `${path}/${esc(k)}`, value: v });
  } else if (Array.isArray(from) && Array.isArray(to) && from.length === to.length) {
    from.forEach((v, i) => diff(v, to[i]!, `${path}/${i}`, out));
  } else if (JSON.stringify(from) !== JSON.stringify(to)) {
    out.push({ op: 'replace', path, from, value: to });
  }
  return out;
}
