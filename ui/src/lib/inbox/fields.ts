// The field editor of a task without a form: a typed field per payload value (text,
// number, yes/no); nested values are shown, not edited. What a completion sends: the
// values the user changed, typed as the payload had them.

export type FieldKind = 'text' | 'number' | 'boolean' | 'shown';

export interface Field {
  key: string;
  kind: FieldKind;
  /** As the input holds it: text for text and number fields, a flag for yes/no. */
  value: string | boolean;
  /** Nested values, as text. */
  shown?: string;
}

export function fieldsOf(payload: Record<string, unknown>): Field[] {
  return Object.entries(payload).map(([key, v]) => {
    if (typeof v === 'string') return { key, kind: 'text', value: v };
    if (typeof v === 'number') return { key, kind: 'number', value: String(v) };
    if (typeof v === 'boolean') return { key, kind: 'boolean', value: v };
    return { key, kind: 'shown', value: '', shown: JSON.stringify(v) };
  });
}

/** The changed values, typed; or what is wrong (a number field that holds no number). */
export function changedValues(payload: Record<string, unknown>, fields: Field[]): { values: Record<string, unknown> } | { errors: string[] } {
  const values: Record<string, unknown> = {};
  const errors: string[] = [];
  for (const f of fields) {
    let v: unknown;
    if (f.kind === 'shown') continue;
    if (f.kind === 'number') {
      const text = String(f.value).trim();
      v = Number(text);
      if (text === '' || !Number.isFinite(v)) {
        errors.push(`${f.key} must be a number`);
        continue;
      }
    } else v = f.value;
    if (v !== payload[f.key]) values[f.key] = v;
  }
  return errors.length ? { errors } : { values };
}
