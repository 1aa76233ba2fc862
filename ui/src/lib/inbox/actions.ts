// Which actions fit a task now, for the signed-in user: claim when it is nobody's;
// complete, unclaim, defer and give on (assign) when it is mine; undefer when it is deferred (and not
// someone else's). One of them is the primary action. What a task held by someone
// else offers: nothing (it says who holds it).

import type { Action, Task } from '../types';

export interface FittingActions {
  /** The one action the detail leads with, if any. */
  primary: Action | null;
  /** The others, in a stable order. */
  others: Action[];
  /** Why there is nothing to do (held by someone else). */
  note: string | null;
}

/** The task is deferred: it comes back at its follow-up date, still ahead. */
export function isDeferred(task: Task, now: number): boolean {
  return task.followUpDate != null && Date.parse(task.followUpDate) > now;
}

export function fittingActions(task: Task, user: string, now: number): FittingActions {
  const deferral: Action = isDeferred(task, now) ? 'undefer' : 'defer';
  if (task.assignee == null) return { primary: 'claim', others: [deferral], note: null };
  if (task.assignee === user) return { primary: 'complete', others: ['unclaim', deferral, 'assign'], note: null };
  return { primary: null, others: [], note: `claimed by ${task.assignee}` };
}

/** The action fits the task now (keyboard shortcuts ask before acting). */
export function fits(action: Action, task: Task, user: string, now: number): boolean {
  const f = fittingActions(task, user, now);
  return f.primary === action || f.others.includes(action);
}
