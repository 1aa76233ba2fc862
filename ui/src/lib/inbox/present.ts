// How the inbox presents a task's values: priority labels (as Camunda's tasklists map
// 0–100), due dates relative to now with overdue marked, readable times; localized
// through Intl for the language in use.

/** A priority's label: Low (0–25), Medium (26–50), High (51–75), Critical (76–100). */
export type PriorityLabel = 'low' | 'medium' | 'high' | 'critical';

export function priorityLabel(priority: number): PriorityLabel {
  if (priority > 75) return 'critical';
  if (priority > 50) return 'high';
  if (priority > 25) return 'medium';
  return 'low';
}

const DAY = 86_400_000;

/** Whole calendar days from `now` to `date` (negative: past), in the local time zone. */
export function daysFrom(date: Date, now: Date): number {
  const start = (d: Date) => new Date(d.getFullYear(), d.getMonth(), d.getDate()).getTime();
  return Math.round((start(date) - start(now)) / DAY);
}

/** A due date relative to now (`today`, `tomorrow`, `in 3 days`, `2 days ago`), and whether it is overdue. */
export function relativeDue(due: string | null | undefined, now: Date, locale: string): { text: string; overdue: boolean } | null {
  if (!due) return null;
  const date = new Date(due);
  if (Number.isNaN(date.getTime())) return null;
  const days = daysFrom(date, now);
  const text = new Intl.RelativeTimeFormat(locale, { numeric: 'auto' }).format(days, 'day');
  return { text, overdue: date.getTime() < now.getTime() };
}

/** A date and time as the language writes it. */
export function dateTime(at: string | null | undefined, locale: string): string {
  if (!at) return '';
  const d = new Date(at);
  return Number.isNaN(d.getTime()) ? '' : d.toLocaleString(locale, { dateStyle: 'medium', timeStyle: 'short' });
}

/** A date as the language writes it. */
export function date(at: string | null | undefined, locale: string): string {
  if (!at) return '';
  const d = new Date(at);
  return Number.isNaN(d.getTime()) ? '' : d.toLocaleDateString(locale, { dateStyle: 'medium' });
}
