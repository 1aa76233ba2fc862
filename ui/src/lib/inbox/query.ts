// The list query of a quick view, a filter and a search; filter suggestions.

import type { QuickView, TaskListParams } from '../types';

/** The list query for a quick view, a filter in the filter language and a search. */
export function buildQuery(view: QuickView, filter: string, text: string, sort = '+due'): TaskListParams {
  const q: TaskListParams = {};
  const f = filter.trim();
  if (f) q.filter = f;
  const t = text.trim();
  if (t) q.q = t;
  if (view === 'mine') q.assignedToMe = true;
  if (view === 'claimable') q.claimable = true;
  if (view === 'deferred') q.deferred = 'only';
  if (sort && sort !== '+due') q.sort = sort;
  return q;
}

/** A filter clause for an attribute suggestion (values quoted when needed). */
export function clause(name: string, value: string): string {
  const bare = /^[A-Za-z0-9_.:-]+$/.test(value);
  return `${name} = ${bare ? value : '"' + value.replace(/\\/g, '\\\\').replace(/"/g, '\\"') + '"'}`;
}

/** Adds a clause to a filter with `and`. */
export function addClause(filter: string, c: string): string {
  const f = filter.trim();
  return f ? `${f} and ${c}` : c;
}
