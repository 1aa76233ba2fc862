// @vitest-environment jsdom
import { fireEvent, render, screen } from '@testing-library/svelte';
import { describe, expect, it, vi } from 'vitest';
import ActionBar from './ActionBar.svelte';
import type { Task } from '../lib/types';

function task(extra: Partial<Task> = {}): Task {
  return {
    id: 't-1',
    sourceReference: { kind: 'process', instanceId: 'i', executionId: 'e', definitionId: 'd:1', definitionKey: 'd', name: 'D', applicationName: 'example' },
    taskDefinitionKey: 'k',
    name: 'Task',
    priority: 50,
    createTime: '2026-01-01T00:00:00Z',
    payload: {},
    enriched: false,
    ...extra,
  };
}

const shown = () => screen.queryAllByRole('button').map((b) => b.dataset.testid);

describe('the action bar', () => {
  it('shows only the actions that fit, the primary one first', () => {
    const props = { user: 'bob', pending: false, collect: () => ({ values: {} }), onact: vi.fn(), onrefused: vi.fn() };
    const { unmount } = render(ActionBar, { ...props, task: task() });
    expect(shown()).toEqual(['action-claim', 'action-defer']);
    expect(screen.getByTestId('action-claim').classList.contains('primary')).toBe(true);
    unmount();
    const mine = render(ActionBar, { ...props, task: task({ assignee: 'bob' }) });
    expect(shown()).toEqual(['action-complete', 'action-unclaim', 'action-defer', 'action-assign']);
    mine.unmount();
    const deferred = render(ActionBar, { ...props, task: task({ assignee: 'bob', followUpDate: '2999-01-01T08:00:00Z' }) });
    expect(shown()).toEqual(['action-complete', 'action-unclaim', 'action-undefer', 'action-assign']);
    expect(screen.queryByTestId('defer-date')).toBeNull();
    deferred.unmount();
    render(ActionBar, { ...props, task: task({ assignee: 'alice' }) });
    expect(shown()).toEqual([]);
    expect(screen.getByTestId('action-note').textContent).toBe('claimed by alice');
  });

  it('completes with what the form collects, and sends nothing while it is wrong', async () => {
    const onact = vi.fn();
    const onrefused = vi.fn();
    let collected: { values: Record<string, unknown> } | { errors: string[] } = { errors: ['Decision: Field is required.'] };
    render(ActionBar, { task: task({ assignee: 'bob' }), user: 'bob', pending: false, collect: () => collected, onact, onrefused });
    await fireEvent.click(screen.getByTestId('action-complete'));
    expect(onact).not.toHaveBeenCalled();
    expect(onrefused).toHaveBeenLastCalledWith('complete: Decision: Field is required.');
    collected = { values: { decision: 'approve' } };
    await fireEvent.click(screen.getByTestId('action-complete'));
    expect(onact).toHaveBeenLastCalledWith('complete', { kind: 'complete', payload: { decision: 'approve' } });
    await fireEvent.input(screen.getByTestId('defer-date'), { target: { value: '2026-12-24' } });
    await fireEvent.click(screen.getByTestId('action-defer'));
    expect(onact).toHaveBeenLastCalledWith('defer', { kind: 'defer', followUpDate: '2026-12-24T08:00:00.000Z' });
    await fireEvent.click(screen.getByTestId('action-assign'));
    expect(onrefused).toHaveBeenLastCalledWith('say who takes the task');
    await fireEvent.input(screen.getByTestId('assignee'), { target: { value: 'carol' } });
    await fireEvent.click(screen.getByTestId('action-assign'));
    expect(onact).toHaveBeenLastCalledWith('assign', { kind: 'assign', assignee: 'carol' });
  });

  it('refuses a shortcut for an action that does not fit', () => {
    const onact = vi.fn();
    const onrefused = vi.fn();
    const { component } = render(ActionBar, { task: task({ assignee: 'alice' }), user: 'bob', pending: false, collect: () => ({ values: {} }), onact, onrefused });
    component.act('complete');
    expect(onact).not.toHaveBeenCalled();
    expect(onrefused).toHaveBeenCalledWith('complete does not fit this task now (claimed by alice)');
  });

  it('sends nothing while an action on the task is pending', async () => {
    const onact = vi.fn();
    render(ActionBar, { task: task(), user: 'bob', pending: true, collect: () => ({ values: {} }), onact, onrefused: vi.fn() });
    for (const button of screen.getAllByRole('button') as HTMLButtonElement[]) {
      expect(button.disabled).toBe(true);
      await fireEvent.click(button);
    }
    expect(onact).not.toHaveBeenCalled();
  });
});
