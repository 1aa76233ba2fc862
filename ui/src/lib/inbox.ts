// The inbox's state, as pure functions: the snapshot, then live changes merged in by
// position (a change at or before the state's position is a repeat and changes
// nothing), marks for new and changed rows, pending actions, and the query for a view.

import type { Action, LiveItem, QuickView, Snapshot, Task, TaskAction, TaskListParams } from './types';

export type Mark = 'new' | 'changed' | null;

export interface Row {
  task: Task;
  mark: Mark;
}

export interface Inbox {
  /** The position of the last applied item. */
  position: number;
  /** Rows by task id, in display order (due date, then id). */
  rows: Row[];
  /** How many tasks match in all (the snapshot's total, kept up to date). */
  total: number;
}

export const empty: Inbox = { position: 0, rows: [], total: 0 };

function dueKey(t: Task): string {
  return (t.dueDate ?? '9999') + '\u0000' + t.id;
}

function sorted(rows: Row[]): Row[] {
  return [...rows].sort((a, b) => (dueKey(a.task) < dueKey(b.task) ? -1 : dueKey(a.task) > dueKey(b.task) ? 1 : 0));
}

/**
 * The inbox from a snapshot. With `previous` (a fresh snapshot of the same list, taken
 * when a deferred task fell due), rows that were not there before are marked new.
 */
export function fromSnapshot(s: Snapshot, previous?: Inbox): Inbox {
  const known = previous ? new Set(previous.rows.map((r) => r.task.id)) : null;
  const mark = (id: string): Mark => (known && !known.has(id) ? 'new' : null);
  return { position: s.position, rows: sorted(s.tasks.map((task) => ({ task, mark: mark(task.id) }))), total: s.total };
}

/**
 * How long to wait before taking a fresh snapshot: just after the next follow-up date
 * (no event marks a deferred task falling due), at most six hours; null: no need.
 */
export function refreshDelay(nextFollowUp: string | null | undefined, now: number): number | null {
  if (!nextFollowUp) return null;
  const at = Date.parse(nextFollowUp);
  if (Number.isNaN(at)) return null;
  return Math.min(Math.max(0, at - now) + 500, 6 * 3600 * 1000);
}

/** Merges one live item. Items at or before the current position are ignored. */
export function applyLive(state: Inbox, item: LiveItem): Inbox {
  if (item.position <= state.position) return state;
  const rows = state.rows;
  if (item.change === 'left') {
    const kept = rows.filter((r) => r.task.id !== item.taskId);
    return { position: item.position, rows: kept, total: Math.max(0, state.total - (rows.length - kept.length)) };
  }
  const existing = rows.findIndex((r) => r.task.id === item.task.id);
  if (existing >= 0) {
    const next = rows.slice();
    next[existing] = { task: item.task, mark: 'changed' };
    return { position: item.position, rows: sorted(next), total: state.total };
  }
  // An unknown task is new to this list, whatever the server called it.
  return { position: item.position, rows: sorted([...rows, { task: item.task, mark: 'new' }]), total: state.total + 1 };
}

/** Clears the marks (after the flash). */
export function clearMarks(state: Inbox): Inbox {
  return { ...state, rows: state.rows.map((r) => (r.mark ? { ...r, mark: null } : r)) };
}

export interface Pending {
  taskId: string;
  action: Action;
  since: number;
}

/** Pending actions: one per task at a time. */
export function startPending(pending: Pending[], taskId: string, action: Action, now: number): Pending[] {
  return [...pending.filter((p) => p.taskId !== taskId), { taskId, action, since: now }];
}

export function settlePending(pending: Pending[], taskId: string): Pending[] {
  return pending.filter((p) => p.taskId !== taskId);
}

/**
 * Whether the view shows the effect of a pending action on this task: a claim once
 * the task is assigned to the user, an unclaim once it is not, a completion once the
 * task has left, a deferral once it has a follow-up date.
 */
export function effectVisible(p: Pending, task: Task | undefined, user: string): boolean {
  switch (p.action) {
    case 'claim':
      return task?.assignee === user;
    case 'unclaim':
      return task !== undefined && task.assignee !== user;
    case 'complete':
      return task === undefined;
    case 'defer':
      return task === undefined || task.followUpDate !== undefined;
    case 'undefer':
      return task !== undefined && task.followUpDate === undefined;
  }
}

/**
 * The node's action for a button: completing carries the result values (a JSON
 * object), deferring a follow-up date (the morning of `followUpDay`).
 */
export function taskAction(action: Action, followUpDay: string, resultText: string): TaskAction | { error: string } {
  switch (action) {
    case 'claim':
    case 'unclaim':
    case 'undefer':
      return { kind: action };
    case 'defer': {
      const date = new Date(`${followUpDay}T08:00:00Z`);
      if (Number.isNaN(date.getTime())) return { error: 'choose the day the task comes back' };
      return { kind: 'defer', followUpDate: date.toISOString() };
    }
    case 'complete': {
      let payload: unknown;
      try {
        payload = JSON.parse(resultText || '{}');
      } catch {
        payload = undefined;
      }
      if (typeof payload !== 'object' || payload === null || Array.isArray(payload)) {
        return { error: 'the result values must be a JSON object, like {"approved": true}' };
      }
      return { kind: 'complete', payload: payload as Record<string, unknown> };
    }
  }
}

/** The list query for a quick view, a filter in the filter language and a search. */
export function buildQuery(view: QuickView, filter: string, text: string, sort = '+due'): TaskListParams {
  const q: TaskListParams = {};
  const f = filter.trim();
  if (f) q.filter = f;
  const t = text.trim();
  if (t) q.q = t;
  if (view === 'mine') q.assignedToMe = true;
  if (view === 'claimable') q.unassigned = true;
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

/** The rows to render of a long list: a window around the scroll position. */
export function visibleWindow(count: number, scrollTop: number, viewport: number, rowHeight: number, overscan = 10): { start: number; end: number } {
  const first = Math.floor(scrollTop / rowHeight);
  const start = Math.max(0, first - overscan);
  const end = Math.min(count, first + Math.ceil(viewport / rowHeight) + overscan);
  return { start, end: Math.max(start, end) };
}

/** Adds a further page of the list (rows already there stay as they are). */
export function appendPage(state: Inbox, tasks: Task[], total: number): Inbox {
  const known = new Set(state.rows.map((r) => r.task.id));
  const added = tasks.filter((t) => !known.has(t.id)).map((task) => ({ task, mark: null as Mark }));
  return { ...state, rows: sorted([...state.rows, ...added]), total };
}

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

export interface Bucket {
  accepted: number;
  rejected: number;
}

/** Outcomes per minute over the last `minutes` minutes, oldest first (the panel's chart). */
export function outcomeBuckets(outcomes: { time: string; accepted: boolean }[], now: number, minutes: number): Bucket[] {
  const buckets: Bucket[] = Array.from({ length: minutes }, () => ({ accepted: 0, rejected: 0 }));
  for (const o of outcomes) {
    const age = Math.floor((now - new Date(o.time).getTime()) / 60000);
    if (age < 0 || age >= minutes || Number.isNaN(age)) continue;
    const b = buckets[minutes - 1 - age];
    if (o.accepted) b.accepted++;
    else b.rejected++;
  }
  return buckets;
}
