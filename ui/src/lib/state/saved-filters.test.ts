import { describe, expect, it } from 'vitest';
import { SavedFilters, type SavedFilterCalls } from './saved-filters.svelte';
import type { FilterInput } from '../generated/FilterInput';
import type { SavedFilter } from '../generated/SavedFilter';
import { ApiError } from '../transport/transport';

/** A task pool that keeps filters in memory, counts by a rule, and refuses taken names. */
function pool(count: (f: FilterInput) => number): SavedFilterCalls & { kept: SavedFilter[] } {
  const kept: SavedFilter[] = [];
  let next = 0;
  const taken = (name: string, id?: string) => kept.some((f) => f.name === name && f.id !== id);
  const conflict = (name: string) => new ApiError({ type: 'https://taskpool.dev/problems/conflict', title: 'Conflict', status: 409, detail: `a saved filter named \`${name}\` exists already` });
  return {
    kept,
    list: async () => kept.map((f) => ({ ...f, count: count({ name: f.name, view: f.view, filter: f.filter, search: f.search, sort: f.sort }) })),
    save: async (input) => {
      if (taken(input.name)) throw conflict(input.name);
      const f = { id: `f${next++}`, name: input.name, view: input.view ?? 'all', filter: input.filter ?? '', search: input.search ?? '', sort: input.sort ?? '', count: 0 };
      kept.push(f);
      return f;
    },
    update: async (id, input) => {
      if (taken(input.name, id)) throw conflict(input.name);
      const f = kept.find((x) => x.id === id);
      if (!f) throw new Error('no such saved filter');
      Object.assign(f, input);
      return f;
    },
    remove: async (id) => {
      const i = kept.findIndex((x) => x.id === id);
      if (i < 0) throw new Error('no such saved filter');
      kept.splice(i, 1);
    },
  };
}

describe('the saved-filter store', () => {
  it('saves what the inbox shows, lists it with its count, and gives it back', async () => {
    const calls = pool((f) => (f.filter.includes('amount') ? 2 : 7));
    const store = new SavedFilters(calls);
    expect(await store.save('  Big orders ', { view: 'claimable', filter: 'amount > 1000 ', text: 'acme', sort: '-priority' })).toBe(true);
    expect(calls.kept[0]).toMatchObject({ name: 'Big orders', view: 'claimable', filter: 'amount > 1000', search: 'acme', sort: '-priority' });
    expect(store.list.map((f) => [f.name, f.count])).toEqual([['Big orders', 2]]);
    expect(store.activeId).toBe('f0');
    expect(store.choose(store.list[0])).toEqual({ view: 'claimable', filter: 'amount > 1000', text: 'acme', sort: '-priority' });
    // The default sort is saved as none.
    await store.save('Everything', { view: 'all', filter: '', text: '', sort: '+due' });
    expect(calls.kept[1].sort).toBe('');
  });

  it('renames and deletes, and says what the pool refused', async () => {
    const calls = pool(() => 1);
    const store = new SavedFilters(calls);
    await store.save('A', { view: 'all', filter: '', text: '', sort: '' });
    await store.save('B', { view: 'mine', filter: '', text: '', sort: '' });
    expect(await store.rename(store.list[1], 'A')).toBe(false);
    expect(store.error).toBe('a saved filter named `A` exists already');
    expect(await store.rename(store.list[1], 'C')).toBe(true);
    expect(store.error).toBe('');
    expect(store.list.map((f) => f.name)).toEqual(['A', 'C']);
    store.choose(store.list[0]);
    await store.remove(store.list[0]);
    expect(store.list.map((f) => f.name)).toEqual(['C']);
    expect(store.activeId).toBeNull();
  });
});
