// Modal dialogs (native <dialog>) and short-lived toasts.

import { h } from './dom';
import { t, type Key, type Message, type Params } from './i18n';
import { button, tx } from './ui';

export interface DialogOptions {
  title: Key;
  titleParams?: Params;
  testId?: string;
  /** Escape closes the dialog (the default); false keeps it open until a button closes it. */
  escapable?: boolean;
  onClose?: () => void;
}

export interface Dialog {
  el: HTMLDialogElement;
  body: HTMLElement;
  actions: HTMLElement;
  close(): void;
  readonly open: boolean;
}

let dialogSeq = 0;

/** openDialog shows a modal dialog with a heading, a body and an action row. */
export function openDialog(opts: DialogOptions): Dialog {
  const id = `dlg${++dialogSeq}`;
  const heading = tx('h2', opts.title, opts.titleParams, { id: `${id}-title` });
  const body = h('div', { class: 'dialog-body' });
  const actions = h('div', { class: 'dialog-actions' });
  const el = h('dialog', { class: 'dialog card', 'aria-labelledby': heading.id, 'data-testid': opts.testId }, heading, body, actions);
  let closed = false;
  const close = () => {
    if (closed) return;
    closed = true;
    if (el.open) el.close();
    el.remove();
    opts.onClose?.();
  };
  el.addEventListener('cancel', (ev) => {
    ev.preventDefault();
    if (opts.escapable !== false) close();
  });
  el.addEventListener('close', () => close());
  document.body.append(el);
  el.showModal();
  return {
    el,
    body,
    actions,
    close,
    get open() {
      return !closed;
    },
  };
}

/** confirmDialog asks a yes/no question; it resolves true when confirmed. */
export function confirmDialog(title: Key, text: Key, confirmKey: Key, opts: { danger?: boolean; testId?: string; params?: Params } = {}): Promise<boolean> {
  return new Promise((resolve) => {
    let answer = false;
    const d = openDialog({ title, titleParams: opts.params, testId: opts.testId ?? 'confirm-dialog', onClose: () => resolve(answer) });
    d.body.append(tx('p', text, opts.params));
    const no = button('action.cancel', { 'data-testid': 'confirm-no' }, () => d.close());
    const yes = button(confirmKey, { class: `btn ${opts.danger ? 'danger' : 'primary'}`, 'data-testid': 'confirm-yes' }, () => {
      answer = true;
      d.close();
    });
    d.actions.append(no, yes);
    no.focus();
  });
}

let toastBox: HTMLElement | null = null;

/** toast shows a message for a few seconds in the corner of the page. */
export function toast(message: Message, kind: 'info' | 'error' | 'ok' = 'info', ms = 6000): void {
  if (!toastBox || !toastBox.isConnected) {
    toastBox = h('div', { class: 'toasts', 'aria-live': 'polite' });
    document.body.append(toastBox);
  }
  const el = h('div', { class: `toast toast-${kind}`, role: kind === 'error' ? 'alert' : 'status', 'data-testid': 'toast' }, h('span', { text: t(message.key, message.params) }));
  const close = h('button', { type: 'button', class: 'toast-close', 'aria-label': t('action.close'), text: '×' });
  close.addEventListener('click', () => el.remove());
  el.append(close);
  toastBox.append(el);
  window.setTimeout(() => el.remove(), ms);
}
