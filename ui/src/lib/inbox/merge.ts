// The list's state as pure functions: the snapshot, then live changes merged in by
// position (a change at or before the state's position is a repeat and changes
// nothing), marks for new and changed rows, further pages.

import type { LiveItem, Snapshot, Task } from '../types';

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

/** Adds a further page of the list (rows already there stay as they are). */
export function appendPage(state: Inbox, tasks: Task[], total: number): Inbox {
  const known = new Set(state.rows.map((r) => r.task.id));
  const added = tasks.filter((t) => !known.has(t.id)).map((task) => ({ task, mark: null as Mark }));
  return { ...state, rows: sorted([...state.rows, ...added]), total };
}
