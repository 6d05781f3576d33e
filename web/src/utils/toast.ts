// Short-lived messages in the corner of the page (Element Plus's ElMessage,
// loaded with its CSS the first time one is shown: the sign-in page never
// needs it).

import { tm, type Message } from '@/locales';

/** toast shows a message for a few seconds, in the language of the moment. */
export function toast(message: Message, kind: 'info' | 'error' | 'ok' = 'info', ms = 6000): void {
  const text = tm(message);
  void import('./toast-message')
    .then(({ showMessage }) => showMessage(message, kind === 'ok' ? 'success' : kind, ms))
    .catch((err: unknown) => console.error('toast', text, err));
}
