// The language of the inbox: English or German, switchable, kept in the browser's (or
// the desktop window's) storage; words from the typed tables in messages.ts, dates and
// numbers through Intl in the same language.

import { de, en, type MessageKey } from './messages';

export type Locale = 'en' | 'de';
export const LOCALES: Locale[] = ['en', 'de'];
const KEY = 'taskpool.locale';

function initial(): Locale {
  try {
    const saved = globalThis.localStorage?.getItem(KEY);
    if (saved === 'en' || saved === 'de') return saved;
  } catch {
    // No storage (a sandboxed page): the browser's language decides.
  }
  const wanted = globalThis.navigator?.language ?? 'en';
  return wanted.toLowerCase().startsWith('de') ? 'de' : 'en';
}

class I18n {
  locale = $state<Locale>(initial());

  set(locale: Locale) {
    this.locale = locale;
    try {
      globalThis.localStorage?.setItem(KEY, locale);
    } catch {
      // Kept for this page only.
    }
    if (globalThis.document) globalThis.document.documentElement.lang = locale;
  }
}

export const i18n = new I18n();
if (globalThis.document) globalThis.document.documentElement.lang = i18n.locale;

/** The words for `key` in the language in use, `{name}` filled from `params`. */
export function t(key: MessageKey, params: Record<string, string | number> = {}): string {
  const table = i18n.locale === 'de' ? de : en;
  return table[key].replace(/\{(\w+)\}/g, (_, name: string) => String(params[name] ?? `{${name}}`));
}

export type { MessageKey };
