// @vitest-environment jsdom
import { render, screen } from '@testing-library/svelte';
import { describe, expect, it } from 'vitest';
import RequestsPanel from './RequestsPanel.svelte';
import type { ActionRequest } from '../lib/types';

const request = (id: string, state: ActionRequest['state'], reason?: string): ActionRequest => ({
  requestId: id,
  taskId: `t-${id}`,
  action: 'claim',
  user: 'alice',
  applicationName: 'example',
  requestedAt: '2026-12-03T08:00:00.000Z',
  state,
  reason,
});

describe('the requests panel', () => {
  it('shows each request with where it stands and why', () => {
    render(RequestsPanel, {
      requests: [
        request('a', 'rejected', 'alice requested this: another approver must decide (four-eyes rule)'),
        request('b', 'expired', 'no answer from application `shop` within 30 s'),
        request('c', 'performed'),
        request('d', 'requested'),
      ],
    });
    const rows = screen.getAllByTestId('request-row');
    expect(rows.map((r) => [r.dataset.taskId, r.dataset.state])).toEqual([
      ['t-a', 'rejected'],
      ['t-b', 'expired'],
      ['t-c', 'performed'],
      ['t-d', 'requested'],
    ]);
    expect(rows[0].textContent).toContain('refused');
    expect(rows[0].textContent).toContain('four-eyes rule');
    expect(rows[1].textContent).toContain('no answer');
    expect(rows[1].textContent).toContain('`shop`');
    expect(rows[2].textContent).toContain('done');
    expect(rows[3].textContent).toContain('pending');
  });

  it('says what it is for while there is nothing', () => {
    render(RequestsPanel, { requests: [] });
    expect(screen.queryAllByTestId('request-row')).toHaveLength(0);
    expect(screen.getByText(/None yet/)).toBeTruthy();
  });
});
