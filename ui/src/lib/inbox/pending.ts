// A user's actions: the node's action a button sends, and the pending ones until
// the view shows their effect.

import type { Action, Task, TaskAction } from '../types';

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
