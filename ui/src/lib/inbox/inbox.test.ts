import { describe, expect, it } from 'vitest';
import { noNotice, shownNotice, taskLabel, addClause, titleWith, unseenAfter, changedValues, fieldsOf, fittingActions, fits, priorityLabel, relativeDue, answerMessage, upsertRequest, appendPage, outcomeBuckets, refreshDelay, applyLive, buildQuery, clause, clearMarks, empty, fromSnapshot, settlePending, sortParam, sortRows, startPending, taskAction, toggleSort, visibleWindow } from '.';
import type { Notice, SortKey } from '.';
import type { LiveItem, Task } from '../types';

function task(id: string, due?: string, extra: Partial<Task> = {}): Task {
  return {
    id,
    sourceReference: { kind: 'process', instanceId: 'i', executionId: 'e', definitionId: 'd:1', definitionKey: 'd', name: 'D', applicationName: 'example' },
    taskDefinitionKey: 'k',
    name: `Task ${id}`,
    priority: 50,
    createTime: '2026-01-01T00:00:00Z',
    dueDate: due,
    payload: {},
    enriched: false,
    ...extra,
  };
}

describe('merging the snapshot and live changes', () => {
  const base = fromSnapshot({ position: 10, tasks: [task('b', '2026-02-02'), task('a', '2026-01-01')], total: 2, nextFollowUp: null, reset: false });

  it('orders the snapshot by due date', () => {
    expect(base.rows.map((r) => r.task.id)).toEqual(['a', 'b']);
  });

  it('adds entered tasks marked new, in due order', () => {
    const s = applyLive(base, { change: 'entered', position: 11, task: task('c', '2026-01-15') });
    expect(s.rows.map((r) => [r.task.id, r.mark])).toEqual([['a', null], ['c', 'new'], ['b', null]]);
    expect(s.total).toBe(3);
    expect(s.position).toBe(11);
  });

  it('updates changed tasks in place, marked changed', () => {
    const s = applyLive(base, { change: 'changed', position: 12, task: task('a', '2026-01-01', { assignee: 'bob' }) });
    expect(s.rows[0]).toEqual({ task: task('a', '2026-01-01', { assignee: 'bob' }), mark: 'changed' });
    expect(s.total).toBe(2);
  });

  it('treats a change of an unknown task as new (upsert)', () => {
    const s = applyLive(base, { change: 'changed', position: 12, task: task('z') });
    expect(s.rows.map((r) => r.task.id)).toEqual(['a', 'b', 'z']);
    expect(s.rows[2].mark).toBe('new');
  });

  it('removes tasks that left', () => {
    const s = applyLive(base, { change: 'left', position: 13, taskId: 'a' });
    expect(s.rows.map((r) => r.task.id)).toEqual(['b']);
    expect(s.total).toBe(1);
  });

  it('ignores repeats at or before its position', () => {
    const s = applyLive(base, { change: 'left', position: 10, taskId: 'a' });
    expect(s).toBe(base);
    const once = applyLive(base, { change: 'entered', position: 11, task: task('c') });
    expect(applyLive(once, { change: 'entered', position: 11, task: task('c') })).toBe(once);
  });

  it('clears marks', () => {
    const s = clearMarks(applyLive(base, { change: 'entered', position: 11, task: task('c') }));
    expect(s.rows.every((r) => r.mark === null)).toBe(true);
    expect(applyLive(empty, { change: 'left', position: 1, taskId: 'x' }).total).toBe(0);
  });
});

describe('pending actions', () => {
  it('keeps one pending action per task and settles it', () => {
    let p = startPending([], 't1', 'claim', 1);
    p = startPending(p, 't2', 'complete', 2);
    p = startPending(p, 't1', 'unclaim', 3);
    expect(p.map((x) => [x.taskId, x.action])).toEqual([['t2', 'complete'], ['t1', 'unclaim']]);
    expect(settlePending(p, 't2').map((x) => x.taskId)).toEqual(['t1']);
  });

  it('tells what the application answered', () => {
    expect(answerMessage('claim', 't', {})).toBe('claim of t: done');
    const request = { requestId: 'r', taskId: 't', applicationName: 'shop', state: 'rejected' as const };
    expect(answerMessage('claim', 't', { problem: { type: 'x', title: 'Conflict', status: 409, detail: 'the task is already claimed by bob', code: 'REQUEST_REJECTED', request } }))
      .toBe('claim of t refused by shop: the task is already claimed by bob');
    expect(answerMessage('complete', 't', { problem: { type: 'x', title: 'Gateway Timeout', status: 504, detail: 'no answer from application `shop` within 30 s', code: 'REQUEST_EXPIRED' } }))
      .toBe('complete of t: no answer (no answer from application `shop` within 30 s)');
    expect(answerMessage('claim', 't', { problem: { type: 'x', title: 'Conflict', status: 409, detail: 'task `t` is assigned to `bob`, not `alice`', code: 'TASK_ASSIGNED_TO_OTHER_USER' } }))
      .toBe('claim of t refused: task `t` is assigned to `bob`, not `alice` (TASK_ASSIGNED_TO_OTHER_USER)');
  });

  it('shows a notice about a task under that task, or under none, never under another', () => {
    const done: Notice = { text: 'claim of “Approve”: done', taskId: 't1', action: 'claim' };
    expect(shownNotice(done, 't1')).toBe(done);
    expect(shownNotice(done, undefined)).toBe(done);
    expect(shownNotice(done, 't2')).toEqual(noNotice);
    const general: Notice = { text: 'the session expired' };
    expect(shownNotice(general, 't2')).toBe(general);
  });

  it('names a task by its name', () => {
    expect(taskLabel({ id: '6c0e-uuid', name: 'Approve the desks' })).toBe('“Approve the desks”');
    expect(taskLabel({ id: 't1', name: '' })).toBe('“t1”');
  });
});

describe('actions', () => {
  it('builds the node\'s action with what it carries, or says what is wrong', () => {
    expect(taskAction('claim', '', {})).toEqual({ kind: 'claim' });
    expect(taskAction('defer', '2026-12-24', {})).toEqual({ kind: 'defer', followUpDate: '2026-12-24T08:00:00.000Z' });
    expect(taskAction('defer', '', {})).toEqual({ error: 'choose the day the task comes back' });
    expect(taskAction('complete', '', { approved: true })).toEqual({ kind: 'complete', payload: { approved: true } });
    expect(taskAction('assign', '', {}, ' bob ')).toEqual({ kind: 'assign', assignee: 'bob' });
    expect(taskAction('assign', '', {}, '  ')).toEqual({ error: 'say who takes the task' });
  });
});

describe('filter building', () => {
  it('builds the query of a quick view with filter and search', () => {
    expect(buildQuery('all', '', '')).toEqual({});
    expect(buildQuery('mine', ' amount > 100 ', '')).toEqual({ filter: 'amount > 100', assignedToMe: true });
    expect(buildQuery('claimable', '', 'vpn')).toEqual({ q: 'vpn', claimable: true });
    expect(buildQuery('deferred', '', '', '-priority')).toEqual({ deferred: 'only', sort: '-priority' });
  });

  it('quotes suggested values that need it and joins clauses with and', () => {
    expect(clause('requester', 'bob')).toBe('requester = bob');
    expect(clause('subject', 'Team "offsite"')).toBe('subject = "Team \\"offsite\\""');
    expect(addClause('', 'a = 1')).toBe('a = 1');
    expect(addClause('a = 1', 'b = 2')).toBe('a = 1 and b = 2');
  });
});

describe('the windowed list', () => {
  it('renders only the rows around the viewport of a 100,000-row list', () => {
    expect(visibleWindow(100_000, 0, 580, 29)).toEqual({ start: 0, end: 30 });
    const w = visibleWindow(100_000, 29 * 50_000, 580, 29);
    expect(w).toEqual({ start: 49_990, end: 50_030 });
    expect(visibleWindow(100_000, 29 * 100_000, 580, 29).end).toBe(100_000);
    expect(visibleWindow(3, 0, 580, 29)).toEqual({ start: 0, end: 3 });
  });
});

describe('sorting and paging', () => {
  const t = (id: string, priority: number, dueDate?: string): Task => ({ ...task(id), priority, dueDate });

  it('a click sorts by one column and flips it; a shift-click adds a key', () => {
    let keys = toggleSort([{ field: 'due', desc: false }], 'priority', false);
    expect(sortParam(keys)).toBe('+priority');
    keys = toggleSort(keys, 'priority', false);
    expect(sortParam(keys)).toBe('-priority');
    keys = toggleSort(keys, 'due', true);
    expect(sortParam(keys)).toBe('-priority,+due');
    keys = toggleSort(keys, 'due', true);
    expect(sortParam(keys)).toBe('-priority,-due');
  });

  it('orders rows by several keys, missing due dates last, ties by id', () => {
    const rows = [t('b', 50), t('a', 50), t('c', 90, '2026-01-01'), t('d', 50, '2025-01-01')].map((task) => ({ task, mark: null }));
    const ids = (keys: SortKey[]) => sortRows(rows, keys).map((r) => r.task.id);
    expect(ids([{ field: 'priority', desc: true }, { field: 'due', desc: false }])).toEqual(['c', 'd', 'a', 'b']);
    expect(ids([{ field: 'due', desc: false }])).toEqual(['d', 'c', 'a', 'b']);
  });

  it('a further page adds only rows not yet there and takes the new total', () => {
    const s = fromSnapshot({ position: 3, tasks: [t('a', 1), t('b', 1)], total: 4, nextFollowUp: null, reset: false });
    const next = appendPage(s, [t('b', 1), t('c', 1)], 5);
    expect(next.rows.map((r) => r.task.id).sort()).toEqual(['a', 'b', 'c']);
    expect(next.total).toBe(5);
    expect(next.position).toBe(3);
  });
});

describe('the outcome chart', () => {
  it('counts outcomes per minute, oldest first, leaving out older ones', () => {
    const now = Date.parse('2026-11-24T10:30:30Z');
    const o = (time: string, accepted: boolean) => ({ time, accepted });
    const b = outcomeBuckets([o('2026-11-24T10:30:10Z', true), o('2026-11-24T10:30:00Z', false), o('2026-11-24T10:28:40Z', true), o('2026-11-24T09:00:00Z', true)], now, 3);
    expect(b).toEqual([{ accepted: 0, rejected: 0 }, { accepted: 1, rejected: 0 }, { accepted: 1, rejected: 1 }]);
  });
});

describe('deferred tasks falling due', () => {
  it('a fresh snapshot of the same list marks what was not there before', () => {
    const before = fromSnapshot({ position: 5, tasks: [task('a', '2026-01-01')], total: 1, nextFollowUp: '2026-11-24T10:00:00Z', reset: false });
    const after = fromSnapshot({ position: 5, tasks: [task('a', '2026-01-01'), task('d', '2026-01-02')], total: 2, nextFollowUp: null, reset: false }, before);
    expect(after.rows.map((r) => [r.task.id, r.mark])).toEqual([['a', null], ['d', 'new']]);
  });

  it('refreshes just after the next follow-up date, and looks again at least every six hours', () => {
    const now = Date.parse('2026-11-24T10:00:00Z');
    expect(refreshDelay(null, now)).toBeNull();
    expect(refreshDelay('2026-11-24T10:00:30Z', now)).toBe(30_500);
    expect(refreshDelay('2026-11-24T09:00:00Z', now)).toBe(500);
    expect(refreshDelay('2027-01-01T00:00:00Z', now)).toBe(6 * 3600 * 1000);
  });
});

describe('requests', () => {
  const r = (id: string, at: string, state: 'requested' | 'performed' = 'requested') => ({ requestId: id, taskId: 't', applicationName: 'app', requestedAt: at, state });
  it('keeps one entry per request, the latest state, newest first', () => {
    let list = upsertRequest([], r('a', '2026-12-03T08:00:00Z'));
    list = upsertRequest(list, r('b', '2026-12-03T08:01:00Z'));
    list = upsertRequest(list, r('a', '2026-12-03T08:00:00Z', 'performed'));
    expect(list.map((x) => [x.requestId, x.state])).toEqual([['b', 'requested'], ['a', 'performed']]);
  });
});

describe('the actions that fit a task', () => {
  const now = Date.parse('2026-12-03T10:00:00Z');
  const later = '2026-12-10T08:00:00Z';
  const earlier = '2026-12-01T08:00:00Z';
  it('offers claim for a task nobody holds, complete first for mine, nothing for another user\'s', () => {
    expect(fittingActions(task('a'), 'bob', now)).toEqual({ primary: 'claim', others: ['defer'], note: null });
    expect(fittingActions(task('a', undefined, { assignee: 'bob' }), 'bob', now)).toEqual({ primary: 'complete', others: ['unclaim', 'defer', 'assign'], note: null });
    expect(fittingActions(task('a', undefined, { assignee: 'alice' }), 'bob', now)).toEqual({ primary: null, others: [], note: 'claimed by alice' });
  });
  it('offers undefer instead of defer while the follow-up date is ahead', () => {
    expect(fittingActions(task('a', undefined, { assignee: 'bob', followUpDate: later }), 'bob', now).others).toEqual(['unclaim', 'undefer', 'assign']);
    expect(fittingActions(task('a', undefined, { followUpDate: later }), 'bob', now).others).toEqual(['undefer']);
    expect(fittingActions(task('a', undefined, { followUpDate: earlier }), 'bob', now).others).toEqual(['defer']);
  });
  it('lets a shortcut act only when its action fits', () => {
    expect(fits('complete', task('a'), 'bob', now)).toBe(false);
    expect(fits('claim', task('a'), 'bob', now)).toBe(true);
    expect(fits('claim', task('a', undefined, { assignee: 'bob' }), 'bob', now)).toBe(false);
    expect(fits('unclaim', task('a', undefined, { assignee: 'alice' }), 'bob', now)).toBe(false);
  });
});

describe('the field editor of a task without a form', () => {
  const payload = { customer: 'ACME', amount: 100, urgent: false, lines: [1, 2] };
  it('types each value and shows nested ones', () => {
    expect(fieldsOf(payload).map((f) => [f.key, f.kind])).toEqual([['customer', 'text'], ['amount', 'number'], ['urgent', 'boolean'], ['lines', 'shown']]);
  });
  it('sends the changed values, typed as the payload had them', () => {
    const fields = fieldsOf(payload);
    expect(changedValues(payload, fields)).toEqual({ values: {} });
    fields[1].value = '250.5';
    fields[2].value = true;
    expect(changedValues(payload, fields)).toEqual({ values: { amount: 250.5, urgent: true } });
  });
  it('says which number field holds no number', () => {
    const fields = fieldsOf(payload);
    fields[1].value = 'lots';
    expect(changedValues(payload, fields)).toEqual({ errors: ['amount must be a number'] });
    fields[1].value = ' ';
    expect(changedValues(payload, fields)).toHaveProperty('errors');
  });
});

describe('presenting a task', () => {
  it('labels priorities as Camunda maps 0–100', () => {
    expect([0, 25, 26, 50, 51, 75, 76, 100].map(priorityLabel)).toEqual(['low', 'low', 'medium', 'medium', 'high', 'high', 'critical', 'critical']);
  });
  it('tells due dates relative to now, marking the overdue', () => {
    const now = new Date(2026, 11, 3, 10, 0);
    expect(relativeDue(new Date(2026, 11, 3, 18, 0).toISOString(), now, 'en')).toEqual({ text: 'today', overdue: false });
    expect(relativeDue(new Date(2026, 11, 4, 9, 0).toISOString(), now, 'en')).toEqual({ text: 'tomorrow', overdue: false });
    expect(relativeDue(new Date(2026, 11, 6, 9, 0).toISOString(), now, 'en')).toEqual({ text: 'in 3 days', overdue: false });
    expect(relativeDue(new Date(2026, 11, 1, 9, 0).toISOString(), now, 'en')).toEqual({ text: '2 days ago', overdue: true });
    expect(relativeDue(new Date(2026, 11, 3, 8, 0).toISOString(), now, 'en')).toEqual({ text: 'today', overdue: true });
    expect(relativeDue(new Date(2026, 11, 6, 9, 0).toISOString(), now, 'de')?.text).toBe('in 3 Tagen');
    expect(relativeDue(null, now, 'en')).toBeNull();
    expect(relativeDue('not a date', now, 'en')).toBeNull();
  });
});

describe('tasks arriving unseen', () => {
  const entered: LiveItem = { change: 'entered', position: 1, task: task('a') };
  const left: LiveItem = { change: 'left', position: 2, taskId: 'a' };
  it('counts tasks that enter while the window is not looked at, nothing else', () => {
    expect(unseenAfter(0, entered, false)).toBe(1);
    expect(unseenAfter(1, entered, true)).toBe(1);
    expect(unseenAfter(1, left, false)).toBe(1);
    expect(titleWith('Taskpool', 0)).toBe('Taskpool');
    expect(titleWith('Taskpool', 3)).toBe('(3) Taskpool');
  });
});

describe('messages in the language in use', () => {
  it('tells an answer in German, and in English again', async () => {
    const { i18n } = await import('../i18n/index.svelte');
    i18n.set('de');
    expect(answerMessage('claim', 't1', {})).toBe('Übernahme von t1: erledigt');
    expect(relativeDue(new Date(2026, 11, 4, 9, 0).toISOString(), new Date(2026, 11, 3, 10, 0), i18n.locale)?.text).toBe('morgen');
    i18n.set('en');
    expect(answerMessage('claim', 't1', {})).toBe('claim of t1: done');
  });
});
