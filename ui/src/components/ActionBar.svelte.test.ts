// @vitest-environment jsdom
import { fireEvent, render, screen } from '@testing-library/svelte';
import { describe, expect, it, vi } from 'vitest';
import ActionBar from './ActionBar.svelte';

describe('the action bar', () => {
  it('sends the node\'s action with what it carries', async () => {
    const onact = vi.fn();
    const onrefused = vi.fn();
    render(ActionBar, { pending: false, onact, onrefused });
    await fireEvent.click(screen.getByTestId('action-claim'));
    expect(onact).toHaveBeenLastCalledWith('claim', { kind: 'claim' });
    await fireEvent.input(screen.getByTestId('result-values'), { target: { value: '{"approved": true}' } });
    await fireEvent.click(screen.getByTestId('action-complete'));
    expect(onact).toHaveBeenLastCalledWith('complete', { kind: 'complete', payload: { approved: true } });
    await fireEvent.input(screen.getByTestId('defer-date'), { target: { value: '2026-12-24' } });
    await fireEvent.click(screen.getByTestId('action-defer'));
    expect(onact).toHaveBeenLastCalledWith('defer', { kind: 'defer', followUpDate: '2026-12-24T08:00:00.000Z' });
    expect(onrefused).not.toHaveBeenCalled();
  });

  it('says what is wrong instead of sending result values that are not an object', async () => {
    const onact = vi.fn();
    const onrefused = vi.fn();
    render(ActionBar, { pending: false, onact, onrefused });
    await fireEvent.input(screen.getByTestId('result-values'), { target: { value: '[1, 2]' } });
    await fireEvent.click(screen.getByTestId('action-complete'));
    expect(onact).not.toHaveBeenCalled();
    expect(onrefused).toHaveBeenCalledWith('the result values must be a JSON object, like {"approved": true}');
  });

  it('sends nothing while an action on the task is pending', async () => {
    const onact = vi.fn();
    render(ActionBar, { pending: true, onact, onrefused: vi.fn() });
    for (const a of ['claim', 'unclaim', 'complete', 'defer', 'undefer']) {
      const button = screen.getByTestId(`action-${a}`) as HTMLButtonElement;
      expect(button.disabled).toBe(true);
      await fireEvent.click(button);
    }
    expect(onact).not.toHaveBeenCalled();
  });
});
