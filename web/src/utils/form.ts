// Field errors of a form: the server's messages (shown as sent) and our own
// (translated when shown), one slot per field.

import { reactive } from 'vue';

import { t, type Key, type Message, type Params } from '@/locales';

export type FieldMessage = string | Message;

export class FieldErrors {
  private readonly messages = reactive<Record<string, FieldMessage | undefined>>({});

  constructor(private readonly names: readonly string[]) {}

  /** text is the message shown by field name ('' when there is none). */
  text(name: string): string {
    const m = this.messages[name];
    if (!m) return '';
    return typeof m === 'string' ? m : t(m.key, m.params);
  }

  /** invalid is the aria-invalid value of a field's control. */
  invalid(name: string): 'true' | undefined {
    return this.messages[name] ? 'true' : undefined;
  }

  any(): boolean {
    return this.names.some((n) => !!this.messages[n]);
  }

  clear(name?: string): void {
    for (const n of name ? [name] : this.names) delete this.messages[n];
  }

  /** show puts each server message by its field; it answers the messages no field took. */
  show(fields: Record<string, string>): Record<string, string> {
    const rest: Record<string, string> = {};
    for (const [name, message] of Object.entries(fields)) {
      if (this.names.includes(name)) this.messages[name] = message;
      else rest[name] = message;
    }
    return rest;
  }

  /** local shows a message of ours by a field. */
  local(name: string, key: Key, params?: Params): void {
    this.messages[name] = { key, params };
  }
}

/** focusInvalid moves the focus to the first control marked invalid inside root. */
export function focusInvalid(root: HTMLElement | null | undefined): void {
  root?.querySelector<HTMLElement>('[aria-invalid="true"]')?.focus();
}
