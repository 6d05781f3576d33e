// The development join page: any name, teacher or student, any room, no
// account. Only servers started with --dev answer its endpoint.

import { ApiError, join, type Role } from './api';
import { clearErrors, showBanner } from './banners';
import { byId } from './dom';
import { t, type Key, type Message } from './i18n';
import { enterClassroom, type Failure } from './live';

const joinFields = ['name', 'role', 'room'] as const;
type JoinField = (typeof joinFields)[number];

const els = {
  joinView: byId('join-view'),
  form: byId<HTMLFormElement>('join-form'),
  name: byId<HTMLInputElement>('join-name'),
  room: byId<HTMLInputElement>('join-room'),
  submit: byId<HTMLButtonElement>('join-submit'),
};

const savedKey = 'yunke.join';

interface Saved {
  name?: string;
  role?: Role;
  room?: string;
}

function loadSaved(): Saved {
  try {
    return (JSON.parse(localStorage.getItem(savedKey) ?? '{}') as Saved) ?? {};
  } catch {
    return {};
  }
}

function save(s: Saved): void {
  try {
    localStorage.setItem(savedKey, JSON.stringify(s));
  } catch {
    // ignore
  }
}

function selectedRole(): Role {
  const checked = els.form.querySelector<HTMLInputElement>('input[name="role"]:checked');
  return checked?.value === 'teacher' ? 'teacher' : 'student';
}

// Field errors come from the server and are shown as sent; keep them per field.
const fieldErrors = new Map<JoinField, string>();

const fieldLabels: Record<JoinField, Key> = { name: 'join.name', role: 'join.role', room: 'join.room' };

/** fieldMessage shows the server's text, translating the bare codes it may send. */
function fieldMessage(field: JoinField, text: string): string {
  if (/^(required|missing|empty)$/i.test(text.trim())) return t('join.required', { field: t(fieldLabels[field]) });
  return text;
}

function renderFieldErrors(): void {
  for (const f of joinFields) {
    const box = els.form.querySelector<HTMLElement>(`[data-field="${f}"]`);
    const msg = box?.querySelector<HTMLElement>('.field-error');
    if (!box || !msg) continue;
    const text = fieldErrors.get(f);
    box.classList.toggle('invalid', !!text);
    msg.hidden = !text;
    msg.textContent = text ? fieldMessage(f, text) : '';
    box.querySelector('input')?.setAttribute('aria-invalid', text ? 'true' : 'false');
  }
}

function showError(code: string, message: Message): void {
  showBanner('error', { kind: 'error', code, message, testId: 'banner-error' });
}

function apiFailure(err: unknown): void {
  if (!(err instanceof ApiError)) {
    showError('error', { key: 'error.server', params: { message: err instanceof Error ? err.message : String(err) } });
    return;
  }
  switch (err.code) {
    case 'unreachable':
      showError('unreachable', { key: 'error.unreachable' });
      return;
    case 'bad_response':
      showError('bad_response', { key: 'error.badResponse', params: { status: err.status } });
      return;
  }
  let known = false;
  for (const [field, text] of Object.entries(err.fields)) {
    if ((joinFields as readonly string[]).includes(field)) {
      fieldErrors.set(field as JoinField, text);
      known = true;
    }
  }
  renderFieldErrors();
  if (known) {
    showError(err.code, { key: 'error.fieldsInvalid' });
    const first = joinFields.find((f) => fieldErrors.has(f));
    els.form.querySelector<HTMLInputElement>(`[data-field="${first}"] input`)?.focus();
  } else {
    showError(err.code, { key: 'error.server', params: { message: err.message } });
  }
}

let busy = false;

function setBusy(on: boolean): void {
  busy = on;
  els.submit.disabled = on;
  els.submit.textContent = t(on ? 'join.submitting' : 'join.submit');
  els.form.setAttribute('aria-busy', String(on));
}

/** The page to show again when a class started here ends. */
let backToJoin: (failure: Failure | null) => void = () => {};

async function onSubmit(ev: SubmitEvent): Promise<void> {
  ev.preventDefault();
  if (busy) return;
  clearErrors();
  fieldErrors.clear();
  renderFieldErrors();
  const role = selectedRole();
  const request = { name: els.name.value.trim(), role, room: els.room.value.trim() };
  setBusy(true);
  try {
    let grant;
    try {
      grant = await join(request);
    } catch (err) {
      console.error('join request failed', err);
      apiFailure(err);
      return;
    }
    save(request);
    try {
      await enterClassroom(grant, role, (failure) => backToJoin(failure));
    } catch (failure) {
      const f = failure as Failure;
      showError(f.code, f.message);
      return;
    }
    els.joinView.hidden = true;
  } finally {
    setBusy(false);
  }
}

/** initDevJoin wires the join form; onEnded shows the page again after a class. */
export function initDevJoin(onEnded: (failure: Failure | null) => void): void {
  backToJoin = onEnded;
  const saved = loadSaved();
  const fromUrl = new URLSearchParams(location.search).get('room');
  els.name.value = saved.name ?? '';
  els.room.value = fromUrl ?? saved.room ?? 'demo';
  const role = saved.role === 'teacher' ? 'teacher' : 'student';
  const radio = els.form.querySelector<HTMLInputElement>(`input[name="role"][value="${role}"]`);
  if (radio) radio.checked = true;

  els.form.addEventListener('submit', (ev) => void onSubmit(ev as SubmitEvent));
  for (const f of joinFields) {
    els.form.querySelector(`[data-field="${f}"]`)?.addEventListener('input', () => {
      if (fieldErrors.delete(f)) renderFieldErrors();
    });
  }
}

export function showDevJoin(failure: Failure | null): void {
  els.joinView.hidden = false;
  document.body.dataset.view = 'join';
  if (failure) showError(failure.code, failure.message);
}

export function hideDevJoin(): void {
  els.joinView.hidden = true;
}

/** renderDevJoin redraws what applyI18n does not cover. */
export function renderDevJoin(): void {
  renderFieldErrors();
  setBusy(busy);
}
