// Building blocks of the account and admin pages: translated text, labelled
// fields with their error slots, busy buttons, tables, paging, and one way of
// showing an API failure.

import { ApiError } from './api';
import { clearErrors, hideBanner, showBanner } from './banners';
import { h } from './dom';
import { t, type Key, type Message, type Params } from './i18n';

type Attrs = Record<string, string | number | boolean | undefined | null>;

/** tx makes an element whose text is the dictionary entry key; applyI18n keeps it translated. */
export function tx<K extends keyof HTMLElementTagNameMap>(tag: K, key: Key, params?: Params, attrs: Attrs = {}): HTMLElementTagNameMap[K] {
  const el = h(tag, attrs);
  setText(el, key, params);
  return el;
}

/** setText points el at a dictionary entry (and its parameters) and fills it now. */
export function setText(el: HTMLElement, key: Key, params?: Params): void {
  el.dataset.i18n = key;
  if (params) el.dataset.i18nParams = JSON.stringify(params);
  else delete el.dataset.i18nParams;
  el.textContent = t(key, params);
}

let fieldSeq = 0;

export interface Field<E extends HTMLElement = HTMLInputElement> {
  /** The .field wrapper; data-field names the API field. */
  box: HTMLElement;
  input: E;
  error: HTMLElement;
}

export interface FieldOptions {
  /** An extra line under the input. */
  hint?: Key;
  testId?: string;
  attrs?: Attrs;
}

function fieldBox(name: string, label: Key, control: HTMLElement, opts: FieldOptions): { box: HTMLElement; error: HTMLElement } {
  const id = control.id;
  const error = h('p', { class: 'field-error', id: `${id}-error`, 'data-testid': `field-error-${name}`, hidden: true, role: 'alert' });
  control.setAttribute('aria-describedby', error.id);
  const box = h('div', { class: 'field', 'data-field': name }, tx('label', label, undefined, { for: id }), control);
  if (opts.hint) box.append(tx('small', opts.hint, undefined, { class: 'field-hint' }));
  box.append(error);
  return { box, error };
}

/** inputField is a labelled <input> with a slot for the server's message about it. */
export function inputField(name: string, label: Key, type = 'text', opts: FieldOptions = {}): Field {
  const input = h('input', { id: `f${++fieldSeq}-${name}`, name, type, 'data-testid': opts.testId, ...opts.attrs });
  const { box, error } = fieldBox(name, label, input, opts);
  return { box, input, error };
}

export interface Option {
  value: string;
  /** A dictionary entry, or literal text (names from the server). */
  key?: Key;
  text?: string;
}

export function fillSelect(select: HTMLSelectElement, options: Option[]): void {
  const keep = select.value;
  select.replaceChildren(...options.map((o) => (o.key ? tx('option', o.key, undefined, { value: o.value }) : h('option', { value: o.value, text: o.text ?? o.value }))));
  if (options.some((o) => o.value === keep)) select.value = keep;
}

export function selectField(name: string, label: Key, options: Option[], opts: FieldOptions = {}): Field<HTMLSelectElement> {
  const input = h('select', { id: `f${++fieldSeq}-${name}`, name, 'data-testid': opts.testId, ...opts.attrs });
  fillSelect(input, options);
  const { box, error } = fieldBox(name, label, input, opts);
  return { box, input, error };
}

/** checkboxGroup is a fieldset of checkboxes sharing one error slot. */
export function checkboxGroup(name: string, legend: Key, options: Option[], testId?: string): { box: HTMLFieldSetElement; boxes: HTMLInputElement[]; error: HTMLElement; values(): string[]; set(values: string[]): void } {
  const error = h('p', { class: 'field-error', 'data-testid': `field-error-${name}`, hidden: true, role: 'alert' });
  const boxes: HTMLInputElement[] = [];
  const list = h('div', { class: 'check-list' });
  for (const o of options) {
    const cb = h('input', { type: 'checkbox', name, value: o.value, 'data-testid': testId ? `${testId}-${o.value}` : undefined });
    boxes.push(cb);
    list.append(h('label', { class: 'check' }, cb, o.key ? tx('span', o.key) : h('span', { text: o.text ?? o.value })));
  }
  const box = h('fieldset', { class: 'field', 'data-field': name }, tx('legend', legend), list, error);
  return {
    box,
    boxes,
    error,
    values: () => boxes.filter((b) => b.checked).map((b) => b.value),
    set: (values) => boxes.forEach((b) => (b.checked = values.includes(b.value))),
  };
}

/** FieldSet shows server field errors next to the inputs they name. */
export class FieldErrors {
  private readonly boxes = new Map<string, { box: HTMLElement; error: HTMLElement }>();

  add(name: string, f: { box: HTMLElement; error: HTMLElement }): void {
    this.boxes.set(name, f);
    f.box.addEventListener('input', () => this.clear(name));
    f.box.addEventListener('change', () => this.clear(name));
  }

  clear(name?: string): void {
    for (const [n, f] of this.boxes) {
      if (name && n !== name) continue;
      f.box.classList.remove('invalid');
      f.error.hidden = true;
      f.error.textContent = '';
      f.box.querySelector('input,select,textarea')?.removeAttribute('aria-invalid');
    }
  }

  /** show puts each message by its field; it returns the messages no field took. */
  show(fields: Record<string, string>): Record<string, string> {
    const rest: Record<string, string> = {};
    let first: HTMLElement | null = null;
    for (const [name, message] of Object.entries(fields)) {
      const f = this.boxes.get(name);
      if (!f) {
        rest[name] = message;
        continue;
      }
      f.box.classList.add('invalid');
      f.error.hidden = false;
      f.error.textContent = message;
      const control = f.box.querySelector<HTMLElement>('input,select,textarea');
      control?.setAttribute('aria-invalid', 'true');
      first ??= control;
    }
    first?.focus();
    return rest;
  }

  /** local shows a message of ours (not the server's) by a field. */
  local(name: string, key: Key, params?: Params): void {
    const f = this.boxes.get(name);
    if (!f) return;
    f.box.classList.add('invalid');
    f.error.hidden = false;
    setText(f.error, key, params);
    f.box.querySelector('input,select,textarea')?.setAttribute('aria-invalid', 'true');
  }
}

/** errorMessage turns any failure into a message for the user. */
export function errorMessage(err: unknown): Message {
  if (!(err instanceof ApiError)) return { key: 'error.server', params: { message: err instanceof Error ? err.message : String(err) } };
  switch (err.code) {
    case 'unreachable':
      return { key: 'error.unreachable' };
    case 'bad_response':
      return { key: 'error.badResponse', params: { status: err.status } };
    case 'conflict':
      return { key: 'error.conflict' };
    case 'forbidden':
      return { key: 'error.forbidden', params: { message: err.message } };
    case 'not_found':
      return { key: 'error.notFound', params: { message: err.message } };
    case 'too_large':
      return { key: 'error.tooLarge' };
    case 'rate_limited':
      return { key: 'error.rateLimited', params: { seconds: err.retryAfter || 60 } };
    case 'csrf':
      return { key: 'error.csrf' };
    case 'busy':
      return { key: 'error.busy', params: { seconds: err.retryAfter || 2 } };
    default:
      return { key: 'error.server', params: { message: err.message } };
  }
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
    action: code === 'conflict' && onReload ? { label: { key: 'action.reload' }, run: () => { hideBanner('page-error'); onReload(); }, testId: 'conflict-reload' } : undefined,
  });
}

let carryNotice = false;

/** notify shows an info notice; carry keeps it over the next page change (e.g. "signed out"). */
export function notify(message: Message, testId = 'banner-info', carry = false): void {
  carryNotice = carry;
  showBanner('page-notice', { kind: 'info', message, testId, dismissible: true });
}

/** pageChanged drops the previous page's notice, unless it was meant for the next page. */
export function pageChanged(): void {
  if (carryNotice) carryNotice = false;
  else hideBanner('page-notice');
}

export function clearNotices(): void {
  clearErrors();
  hideBanner('page-notice');
}

/** busy disables a button and swaps its label while work runs. */
export async function busy<T>(btn: HTMLButtonElement, label: Key, work: () => Promise<T>): Promise<T> {
  const prevKey = btn.dataset.i18n as Key | undefined;
  const prevText = btn.textContent;
  btn.disabled = true;
  btn.setAttribute('aria-busy', 'true');
  setText(btn, label);
  btn.prepend(h('span', { class: 'spinner', 'aria-hidden': 'true' }));
  try {
    return await work();
  } finally {
    btn.disabled = false;
    btn.removeAttribute('aria-busy');
    if (prevKey) setText(btn, prevKey);
    else btn.textContent = prevText;
  }
}

export function button(key: Key, attrs: Attrs = {}, onClick?: (ev: MouseEvent) => void): HTMLButtonElement {
  const btn = tx('button', key, undefined, { type: 'button', class: 'btn', ...attrs });
  if (onClick) btn.addEventListener('click', onClick);
  return btn;
}

export interface Column<T> {
  head: Key;
  cell: (row: T) => Node | string;
  class?: string;
}

/** table renders rows; an empty list shows emptyKey across the table. */
export function table<T>(columns: Column<T>[], rows: T[], emptyKey: Key, attrs: Attrs = {}): HTMLTableElement {
  const head = h('tr', {}, ...columns.map((c) => tx('th', c.head, undefined, { scope: 'col', class: c.class })));
  const body = h('tbody');
  if (rows.length === 0) {
    body.append(h('tr', { class: 'empty-row' }, h('td', { colspan: columns.length }, tx('span', emptyKey))));
  }
  for (const row of rows) {
    body.append(h('tr', {}, ...columns.map((c) => h('td', { class: c.class }, c.cell(row)))));
  }
  return h('table', { class: 'data-table', ...attrs }, h('thead', {}, head), body);
}

/** pager shows "a–b of n" and previous/next buttons. */
export function pager(offset: number, limit: number, total: number, go: (offset: number) => void): HTMLElement {
  const from = total === 0 ? 0 : offset + 1;
  const to = Math.min(offset + limit, total);
  const prev = button('page.prev', { class: 'btn small', disabled: offset <= 0, 'data-testid': 'page-prev' }, () => go(Math.max(0, offset - limit)));
  const next = button('page.next', { class: 'btn small', disabled: offset + limit >= total, 'data-testid': 'page-next' }, () => go(offset + limit));
  return h('nav', { class: 'pager', 'aria-label': t('page.label') }, tx('span', 'page.range', { from, to, total }, { 'data-testid': 'page-range' }), prev, next);
}

/** loading is the placeholder a page shows until its data arrives. */
export function loading(): HTMLElement {
  return h('p', { class: 'loading', role: 'status' }, h('span', { class: 'spinner', 'aria-hidden': 'true' }), tx('span', 'common.loading'));
}

export function pageHeader(title: Key, ...extra: Node[]): HTMLElement {
  return h('div', { class: 'page-head' }, tx('h1', title), ...extra);
}

export function formatDateTime(iso: string): string {
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return iso;
  const p = (n: number) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())} ${p(d.getHours())}:${p(d.getMinutes())}`;
}
