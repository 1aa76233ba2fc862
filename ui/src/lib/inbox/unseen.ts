// Tasks that arrive while nobody looks: counted until the window is looked at again,
// shown in the title (and, in the desktop app, the badge).

import type { LiveItem } from '../types';

/** The count after `item` arrives: one more for a task that entered the list while the window was not looked at. */
export function unseenAfter(count: number, item: LiveItem, looking: boolean): number {
  return !looking && item.change === 'entered' ? count + 1 : count;
}

/** The page title with the count (`(3) Taskpool`). */
export function titleWith(base: string, count: number): string {
  return count > 0 ? `(${count}) ${base}` : base;
}
