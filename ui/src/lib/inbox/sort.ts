// Sort keys: clicking and shift-clicking headers, the server's `sort` parameter, and
// the same order applied to the rows already loaded.

import type { Row } from './merge';
import type { Task } from '../types';

/** A column the list sorts by, as the server names it. */
export type SortField = 'process' | 'name' | 'businessKey' | 'priority' | 'due' | 'assignee' | 'created';

export interface SortKey {
  field: SortField;
  desc: boolean;
}

/**
 * A click on a column header: the same column flips its direction; another column
 * replaces the sort, or (with `add`, a shift-click) becomes the next key.
 */
export function toggleSort(keys: SortKey[], field: SortField, add: boolean): SortKey[] {
  const i = keys.findIndex((k) => k.field === field);
  if (i >= 0) {
    const flipped = { field, desc: !keys[i].desc };
    return add ? keys.map((k, j) => (j === i ? flipped : k)) : [flipped];
  }
  return add ? [...keys, { field, desc: false }] : [{ field, desc: false }];
}

const FIELDS: SortField[] = ['process', 'name', 'businessKey', 'priority', 'due', 'assignee', 'created'];

/** Sort keys from a `sort` parameter (unknown fields are left out; none: by due date). */
export function parseSortParam(sort: string): SortKey[] {
  const keys = sort
    .split(',')
    .map((k) => k.trim())
    .filter((k) => k.length > 0)
    .map((k) => ({ field: k.replace(/^[+-]/, '') as SortField, desc: k.startsWith('-') }))
    .filter((k) => FIELDS.includes(k.field));
  return keys.length ? keys : [{ field: 'due', desc: false }];
}

/** The `sort` parameter (`+due,-priority`). */
export function sortParam(keys: SortKey[]): string {
  return keys.map((k) => `${k.desc ? '-' : '+'}${k.field}`).join(',');
}

function sortValue(t: Task, f: SortField): string | number {
  switch (f) {
    case 'process':
      return t.sourceReference.name;
    case 'name':
      return t.name;
    case 'businessKey':
      return t.businessKey ?? '';
    case 'priority':
      return t.priority;
    case 'due':
      return t.dueDate ?? '9999';
    case 'assignee':
      return t.assignee ?? '';
    case 'created':
      return t.createTime;
  }
}

/** Orders rows as the server does for the same keys (ties by id). */
export function sortRows(rows: Row[], keys: SortKey[]): Row[] {
  return [...rows].sort((a, b) => {
    for (const k of keys) {
      const x = sortValue(a.task, k.field);
      const y = sortValue(b.task, k.field);
      if (x !== y) return (x < y ? -1 : 1) * (k.desc ? -1 : 1);
    }
    return a.task.id < b.task.id ? -1 : a.task.id > b.task.id ? 1 : 0;
  });
}
