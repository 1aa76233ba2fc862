// A user's actions: the node's action a button sends, the pending ones until the
// owning application answered, and what the user is told then.

import { t } from '../i18n/index.svelte';
import type { Action, Problem, TaskAction } from '../types';

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

/** The last thing the user was told, and the task (and action) it is about, if any. */
export interface Notice {
  text: string;
  taskId?: string;
  action?: Action;
}

export const noNotice: Notice = { text: '' };

/**
 * The notice the detail shows: one about a task only while that task is selected, or
 * while none is (a completed task has left the list: its "done" stays readable); never
 * under another task.
 */
export function shownNotice(notice: Notice, selectedId: string | undefined): Notice {
  if (notice.taskId === undefined || selectedId === undefined || selectedId === notice.taskId) return notice;
  return noNotice;
}

/** How a message names a task: by its name, as the list shows it. */
export function taskLabel(task: { id: string; name: string }): string {
  return `“${task.name || task.id}”`;
}

/**
 * What the user is told once the owning application answered an action: done, refused
 * (by the pool, or by the application's engine, with its reason), or no answer in time
 * (naming the silent application).
 */
export function answerMessage(action: Action, taskId: string, answer: { problem?: Problem }): string {
  const p = answer.problem;
  const verb = t(`verb.${action}`);
  if (!p) return t('answer.done', { action: verb, task: taskId });
  switch (p.code) {
    case 'REQUEST_REJECTED':
      return t('answer.rejectedBy', { action: verb, task: taskId, app: p.request?.applicationName ?? t('answer.itsApplication'), detail: p.detail });
    case 'REQUEST_EXPIRED':
      return t('answer.expired', { action: verb, task: taskId, detail: p.detail });
    default:
      return t('answer.refused', { action: verb, task: taskId, detail: p.detail, code: p.code ? ` (${p.code})` : '' });
  }
}

/** What the user is told while an action awaits its application's answer. */
export function pendingMessage(action: Action, taskId: string): string {
  return t('answer.pending', { action: t(`verb.${action}`), task: taskId });
}

/** The request of an action, from what the detail collected: the day a deferral ends, the values a completion sends (from the task's form or its field editor). */
export function taskAction(action: Action, followUpDay: string, values: Record<string, unknown>, assignee = ''): TaskAction | { error: string } {
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
    case 'complete':
      return { kind: 'complete', payload: values };
    case 'assign': {
      const to = assignee.trim();
      return to ? { kind: 'assign', assignee: to } : { error: 'say who takes the task' };
    }
  }
}
