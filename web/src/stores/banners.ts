// Page-wide notices above the page: errors, the reconnecting notice, the
// audio prompt, "signed out" and the like. Each has an id; showing one with
// the same id replaces it.

import { computed, reactive } from 'vue';

import { ApiError } from '@/api/http';
import type { Message } from '@/locales';
import { errorMessage } from '@/utils/errors';
import type { FieldErrors } from '@/utils/form';

export type BannerKind = 'error' | 'warning' | 'info';

export interface Banner {
  kind: BannerKind;
  message: Message;
  /** A machine-readable cause, exposed as data-code (e.g. 'auth', 'unreachable'). */
  code?: string;
  /** An action button shown in the banner. */
  action?: { label: Message; run: () => void; testId?: string };
  dismissible?: boolean;
  testId?: string;
}

const shown = reactive(new Map<string, Banner>());

/** banners lists what to show, oldest first. */
export const banners = computed(() => [...shown.entries()].map(([id, b]) => ({ id, ...b })));

export function showBanner(id: string, banner: Banner): void {
  shown.set(id, banner);
}

export function hideBanner(id: string): void {
  shown.delete(id);
}

/** clearErrors removes every error banner. */
export function clearErrors(): void {
  for (const [id, b] of shown) if (b.kind === 'error') shown.delete(id);
}

let carryNotice = false;

/** notify shows an info notice; carry keeps it over the next page change (e.g. "signed out"). */
export function notify(message: Message, testId = 'banner-info', carry = false): void {
  carryNotice = carry;
  showBanner('page-notice', { kind: 'info', message, testId, dismissible: true });
}

/** pageChanged drops the previous page's errors and notice, unless the notice was meant for the next page. */
export function pageChanged(): void {
  clearErrors();
  if (carryNotice) carryNotice = false;
  else hideBanner('page-notice');
}

export function clearNotices(): void {
  clearErrors();
  hideBanner('page-notice');
}

/** showError shows one error banner (the page's, unless id says otherwise). */
export function showError(code: string, message: Message, id = 'page-error'): void {
  showBanner(id, { kind: 'error', code, message, testId: 'banner-error' });
}

/**
 * showApiError reports a failed call: field errors next to their fields,
 * everything else in the page banner. onReload adds a "reload" action to a
 * conflict.
 */
export function showApiError(err: unknown, fields?: FieldErrors, onReload?: () => void): void {
  console.error('API call failed', err);
  if (err instanceof ApiError && err.code === 'unauthenticated') return; // the session hook takes over
  if (err instanceof ApiError && err.code === 'password_change_required') return;
  let rest: Record<string, string> = {};
  if (err instanceof ApiError && fields) rest = fields.show(err.fields);
  const code = err instanceof ApiError ? err.code : 'error';
  const fieldCount = err instanceof ApiError ? Object.keys(err.fields).length : 0;
  let message = errorMessage(err);
  if (fieldCount > 0 && Object.keys(rest).length === 0) message = { key: 'error.fieldsInvalid' };
  else if (Object.keys(rest).length > 0) message = { key: 'error.server', params: { message: Object.entries(rest).map(([k, v]) => `${k}: ${v}`).join('; ') } };
  showBanner('page-error', {
    kind: 'error',
    code,
    message,
    testId: 'banner-error',
    action:
      code === 'conflict' && onReload
        ? {
            label: { key: 'action.reload' },
            run: () => {
              hideBanner('page-error');
              onReload();
            },
            testId: 'conflict-reload',
          }
        : undefined,
  });
}
