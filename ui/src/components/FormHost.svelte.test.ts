// @vitest-environment jsdom
import { fireEvent, render, screen, waitFor } from '@testing-library/svelte';
import { describe, expect, it } from 'vitest';
import FormHost from './FormHost.svelte';

const form = {
  type: 'default',
  schemaVersion: 16,
  components: [
    { type: 'textfield', id: 'subject', key: 'subject', label: 'Subject', readonly: true },
    { type: 'number', id: 'amount', key: 'amount', label: 'Amount' },
    { type: 'textarea', id: 'comment', key: 'comment', label: 'Comment', validate: { required: true } },
  ],
};

describe('the form host', () => {
  it('renders the form pre-filled, blocks a required field left empty, then gives the values', { timeout: 20_000 }, async () => {
    const { component } = render(FormHost, { form, data: { subject: 'Laptop', amount: 2400 } });
    // form-js is loaded on first use: on a busy machine that takes more than the
    // default second (a CI run failed on it).
    const subject = (await screen.findByLabelText('Subject', {}, { timeout: 10_000 })) as HTMLInputElement;
    expect(subject.value).toBe('Laptop');
    expect(((await screen.findByLabelText('Amount')) as HTMLInputElement).value).toBe('2400');

    const blocked = component.collect();
    expect(blocked).toEqual({ errors: [expect.stringContaining('Comment')] });
    await waitFor(() => expect(screen.getByTestId('form').textContent).toMatch(/required/i));

    await fireEvent.input(screen.getByLabelText(/Comment/), { target: { value: 'fine by me' } });
    // The viewer takes typed text in after a short debounce.
    await waitFor(() => expect(component.collect()).toHaveProperty('values'), { timeout: 3000 });
    expect(component.collect()).toEqual({ values: expect.objectContaining({ amount: 2400, comment: 'fine by me' }) });
  });

  it('says so when the form cannot be shown', async () => {
    const { component } = render(FormHost, { form: { components: 'not a list' }, data: {} });
    await waitFor(() => expect(screen.getByRole('alert').textContent).toContain('the form cannot be shown'));
    expect(component.collect()).toEqual({ errors: [expect.stringContaining('the form cannot be shown')] });
  });
});
