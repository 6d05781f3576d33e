// Questions the app asks in a modal dialog: ConfirmDialog (in App.vue)
// shows the one asked last and answers the promise.

import { shallowRef } from 'vue';

import type { Key, Params } from '@/locales';

export interface ConfirmRequest {
  id: number;
  title: Key;
  text: Key;
  confirm: Key;
  params?: Params;
  danger?: boolean;
  testId: string;
  answer(yes: boolean): void;
}

export const confirmRequest = shallowRef<ConfirmRequest | null>(null);
let seq = 0;

/** confirmDialog asks a yes/no question; it resolves true when confirmed. */
export function confirmDialog(title: Key, text: Key, confirm: Key, opts: { danger?: boolean; testId?: string; params?: Params } = {}): Promise<boolean> {
  confirmRequest.value?.answer(false);
  return new Promise((resolve) => {
    const req: ConfirmRequest = {
      id: ++seq,
      title,
      text,
      confirm,
      params: opts.params,
      danger: opts.danger,
      testId: opts.testId ?? 'confirm-dialog',
      answer(yes) {
        if (confirmRequest.value === req) confirmRequest.value = null;
        resolve(yes);
      },
    };
    confirmRequest.value = req;
  });
}
