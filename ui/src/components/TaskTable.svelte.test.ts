// @vitest-environment jsdom
import { fireEvent, render, screen } from '@testing-library/svelte';
import { describe, expect, it, vi } from 'vitest';
import TaskTable from './TaskTable.svelte';
import type { Row } from '../lib/inbox';
import type { Task } from '../lib/types';

// jsdom lays nothing out and has no ResizeObserver (bind:clientHeight uses one): the
// viewport stays at its initial height, which is what the window arithmetic needs.
globalThis.ResizeObserver ??= class {
  observe() {}
  unobserve() {}
  disconnect() {}
} as unknown as typeof ResizeObserver;

function rows(n: number): Row[] {
  return Array.from({ length: n }, (_, i) => {
    const task: Task = {
      id: `t${String(i).padStart(6, '0')}`,
      sourceReference: { kind: 'process', instanceId: 'i', executionId: 'e', definitionId: 'd:1', definitionKey: 'd', name: 'D', applicationName: 'example' },
      taskDefinitionKey: 'k',
      name: `Task ${i}`,
      priority: 50,
      createTime: '2026-01-01T00:00:00Z',
      payload: {},
      enriched: false,
    };
    return { task, mark: null };
  });
}

function props(over: Partial<Record<string, unknown>> = {}) {
  return {
    rows: rows(100_000),
    total: 100_000,
    selectedId: null,
    sortKeys: [{ field: 'due' as const, desc: false }],
    onselect: vi.fn(),
    onsort: vi.fn(),
    onnear_end: vi.fn(),
    ...over,
  };
}

describe('the task table', () => {
  it('renders a window of a 100,000-row list, not every row', () => {
    render(TaskTable, props());
    const shown = screen.getAllByTestId('task-row');
    expect(shown.length).toBeGreaterThan(0);
    expect(shown.length).toBeLessThan(100);
    expect(shown[0].dataset.taskId).toBe('t000000');
    expect(screen.getByTestId('total').textContent).toBe('100000 tasks');
  });

  it('says how many are loaded when the list has more', () => {
    render(TaskTable, props({ rows: rows(500), total: 2000 }));
    expect(screen.getByTestId('total').textContent).toBe('2000 tasks (500 loaded; scroll for more)');
  });

  it('selects a clicked row and sorts by a clicked header (shift adds a key)', async () => {
    const p = props({ rows: rows(3), total: 3, selectedId: 't000001' });
    render(TaskTable, p);
    const [, second, third] = screen.getAllByTestId('task-row');
    expect(second.classList.contains('selected')).toBe(true);
    await fireEvent.click(third);
    expect(p.onselect).toHaveBeenCalledWith('t000002');
    await fireEvent.click(screen.getByTestId('sort-priority'));
    await fireEvent.click(screen.getByTestId('sort-name'), { shiftKey: true });
    expect(p.onsort).toHaveBeenNthCalledWith(1, 'priority', false);
    expect(p.onsort).toHaveBeenNthCalledWith(2, 'name', true);
    expect(screen.getByTestId('sort-due').textContent).toBe('Due ▲');
  });

  it('asks for more rows when the window comes near the end of what is loaded', async () => {
    // jsdom gives the list no height: the window at the top is its overscan alone.
    const far = props({ rows: rows(1000), total: 5000 });
    const first = render(TaskTable, far);
    await fireEvent.scroll(first.container.querySelector('.list') as HTMLElement);
    expect(far.onnear_end).not.toHaveBeenCalled();
    first.unmount();
    const near = props({ rows: rows(30), total: 5000 });
    const second = render(TaskTable, near);
    await fireEvent.scroll(second.container.querySelector('.list') as HTMLElement);
    expect(near.onnear_end).toHaveBeenCalled();
  });
});
