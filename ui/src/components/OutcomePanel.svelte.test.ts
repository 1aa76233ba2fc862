// @vitest-environment jsdom
import { fireEvent, render, screen } from '@testing-library/svelte';
import { describe, expect, it } from 'vitest';
import OutcomePanel from './OutcomePanel.svelte';
import type { OutcomeRecord } from '../lib/types';

function outcome(id: number, accepted: boolean): OutcomeRecord {
  return {
    id,
    time: new Date().toISOString(),
    commandType: 'claimInteraction',
    aggregateId: `t${id}`,
    application: 'example',
    accepted,
    code: accepted ? 'SENDER-002' : 'TASK_NOT_CLAIMABLE',
    message: accepted ? 'accepted' : 'already claimed',
  };
}

describe('the outcome panel', () => {
  it('counts accepted and rejected outcomes and shows only the rejected ones on request', async () => {
    render(OutcomePanel, { outcomes: [outcome(3, true), outcome(2, false), outcome(1, true)] });
    expect(screen.getByText('2 accepted')).toBeTruthy();
    expect(screen.getByText('1 rejected')).toBeTruthy();
    expect(screen.getAllByTestId('outcome-row')).toHaveLength(3);
    await fireEvent.click(screen.getByTestId('only-errors'));
    const rows = screen.getAllByTestId('outcome-row');
    expect(rows).toHaveLength(1);
    expect(rows[0].dataset.taskId).toBe('t2');
    expect(rows[0].dataset.accepted).toBe('false');
    await fireEvent.click(screen.getByTestId('only-errors'));
    expect(screen.getAllByTestId('outcome-row')).toHaveLength(3);
  });

  it('shows the latest 50', () => {
    render(OutcomePanel, { outcomes: Array.from({ length: 80 }, (_, i) => outcome(80 - i, true)) });
    expect(screen.getAllByTestId('outcome-row')).toHaveLength(50);
  });
});
