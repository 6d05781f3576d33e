// The app's two languages: Chinese (zh-CN, the default) and English. The
// choice is kept in localStorage; Element Plus follows it through the
// ConfigProvider in App.vue.
//
// vue-i18n 11 compiles each message the first time it is used into an AST
// and interprets it (its "JIT" mode, the only one since v10): no eval and no
// new Function, so the app runs under a script-src 'self' policy. The build
// flags that select this are set in vite.config.ts.

import { computed } from 'vue';
import { createI18n } from 'vue-i18n';
import elEn from 'element-plus/es/locale/lang/en';
import elZhCn from 'element-plus/es/locale/lang/zh-cn';

import { setLanguage } from '@/api/http';

import en from './en';
import zhCN from './zh-CN';

export type Lang = 'zh-CN' | 'en';
export type Key = keyof typeof zhCN;
export type Params = Record<string, string | number>;

/** A message that is translated when shown, so it follows a language switch. */
export interface Message {
  key: Key;
  params?: Params;
}

const storageKey = 'yunke.lang';

function initialLang(): Lang {
  try {
    const saved = localStorage.getItem(storageKey);
    if (saved === 'en' || saved === 'zh-CN') return saved;
  } catch {
    // storage unavailable (private mode): keep the default
  }
  return 'zh-CN';
}

type Messages = Record<Key, string>;

export const i18n = createI18n({
  legacy: false,
  locale: initialLang(),
  fallbackLocale: 'zh-CN',
  messages: { 'zh-CN': zhCN as Messages, en } as Record<Lang, Messages>,
  // Keys are flat strings that contain dots: look them up as they are.
  messageResolver: (obj: unknown, path: string) => (obj as Record<string, string>)[path] ?? null,
  missingWarn: false,
  fallbackWarn: false,
});

const translate = i18n.global.t as unknown as (key: string, named: Params) => string;

/**
 * t returns the message for key in the current language with its {name}
 * parameters filled. Called during a component's render it re-runs when the
 * language changes.
 */
export function t(key: Key, params?: Params): string {
  return translate(key, params ?? {});
}

/** tm translates a Message. */
export function tm(m: Message): string {
  return t(m.key, m.params);
}

export function lang(): Lang {
  return i18n.global.locale.value as Lang;
}

setLanguage(lang());

export function setLang(next: Lang): void {
  if (next === lang()) return;
  i18n.global.locale.value = next;
  setLanguage(next);
  try {
    localStorage.setItem(storageKey, next);
  } catch {
    // ignore
  }
  document.documentElement.lang = next;
}

/** elementLocale is Element Plus's own strings for the current language. */
export const elementLocale = computed(() => (lang() === 'en' ? elEn : elZhCn));
