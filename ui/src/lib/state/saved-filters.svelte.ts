// My saved filters (a quick view, a filter, a search and a sort under a name), kept by
// the task pool per user (on the server in remote mode and in the browser, in the app's
// data when embedded), each with its count. The store talks to the pool through the
// calls it is given, so it is tested without one.

import type { FilterInput } from '../generated/FilterInput';
import type { SavedFilter } from '../generated/SavedFilter';
import type { QuickView } from '../types';

/** What a saved filter sets in the inbox. */
export interface ListState {
  view: QuickView;
  filter: string;
  text: string;
  sort: string;
}

/** The task pool's saved-filter calls. */
export interface SavedFilterCalls {
  list(): Promise<SavedFilter[]>;
  save(input: FilterInput): Promise<SavedFilter>;
  update(id: string, input: FilterInput): Promise<SavedFilter>;
  remove(id: string): Promise<void>;
}

export class SavedFilters {
  list = $state<SavedFilter[]>([]);
  /** What the last change could not do (the pool's words). */
  error = $state('');
  /** The saved filter the inbox shows now, if any. */
  activeId = $state<string | null>(null);

  constructor(private calls: SavedFilterCalls) {}

  /** Loads the list with fresh counts. */
  async load() {
    try {
      this.list = await this.calls.list();
      this.error = '';
    } catch (e) {
      this.error = (e as Error).message;
    }
  }

  /** Saves what the inbox shows under `name`; true when saved. */
  async save(name: string, state: ListState): Promise<boolean> {
    return this.#change(async () => {
      const saved = await this.calls.save(inputOf(name, state));
      this.activeId = saved.id;
    });
  }

  async rename(f: SavedFilter, name: string): Promise<boolean> {
    return this.#change(async () => {
      await this.calls.update(f.id, { name, view: f.view, filter: f.filter, search: f.search, sort: f.sort });
    });
  }

  async remove(f: SavedFilter): Promise<boolean> {
    return this.#change(async () => {
      await this.calls.remove(f.id);
      if (this.activeId === f.id) this.activeId = null;
    });
  }

  /** What choosing `f` sets in the inbox. */
  choose(f: SavedFilter): ListState {
    this.activeId = f.id;
    return { view: f.view, filter: f.filter, text: f.search, sort: f.sort };
  }

  async #change(change: () => Promise<void>): Promise<boolean> {
    try {
      await change();
      this.error = '';
      await this.load();
      return true;
    } catch (e) {
      this.error = (e as Error).message;
      return false;
    }
  }
}

export function inputOf(name: string, s: ListState): FilterInput {
  return { name: name.trim(), view: s.view, filter: s.filter.trim(), search: s.text.trim(), sort: s.sort === '+due' ? '' : s.sort };
}
