// One-to-one tutoring, the parts that live for the whole tab: what the event
// socket says about the student's request, the teacher's availability and
// incoming offers, and running sessions (docs/api.md, "One-to-one tutoring").

import { api, ApiError, type KnowledgePoint, type RequestView, type Subject, type TutoringRequest, type TutoringSession } from './api';
import { hideBanner, showBanner } from './banners';
import { openDialog, toast, type Dialog } from './dialog';
import { h } from './dom';
import { onEvent, send, type ServerEvent } from './events';
import { t, type Key, type Message } from './i18n';
import { currentPath, navigate, state, subjects } from './session';
import { activeRoom } from './tutoring-room';
import { noteDialog, ratingDialog } from './tutoring-dialogs';
import { button, setText, tx } from './ui';

export interface Presence {
  online: boolean;
  available: boolean;
  subjects: string[];
  grades: number[];
  reason?: string;
}

interface OfferEvent {
  request: TutoringRequest;
  expires_at: string;
  seconds_left: number;
}

export const tutor: {
  /** The student's open (or just closed) request; undefined: not known yet, null: none. */
  request: RequestView | null | undefined;
  /** The teacher's availability as the server last told it. */
  presence: Presence | null;
} = { request: undefined, presence: null };

const listeners = new Set<() => void>();

/** onTutorChange calls fn whenever the request or presence changes; it answers an unsubscribe. */
export function onTutorChange(fn: () => void): () => void {
  listeners.add(fn);
  return () => listeners.delete(fn);
}

function changed(): void {
  for (const fn of [...listeners]) {
    try {
      fn();
    } catch (err) {
      console.error('tutoring listener', err);
    }
  }
}

// ---- names ----

export function subjectLabel(s: Subject): string {
  return document.documentElement.lang === 'en' && s.name_en ? s.name_en : s.name;
}

/** subjectName names a subject by id (or code), falling back to what it was given. */
export async function subjectName(id: number, code?: string): Promise<string> {
  try {
    const all = await subjects();
    const s = all.find((x) => x.id === id) ?? all.find((x) => x.code === code);
    if (s) return subjectLabel(s);
  } catch {
    // fall through
  }
  return code || `#${id}`;
}

/** knowledgePoints lists a subject's knowledge points for a grade (possibly none). */
export async function knowledgePoints(subjectId: number, grade?: number): Promise<KnowledgePoint[]> {
  const q = new URLSearchParams({ subject_id: String(subjectId) });
  if (grade) q.set('grade', String(grade));
  const list = await api.get<{ items: KnowledgePoint[] | null }>(`/api/v1/knowledge-points?${q}`);
  return list.items ?? [];
}

/** waitText says how long a wait of s seconds is, roughly. */
export function waitText(s: number): string {
  if (!(s > 0)) return t('tutor.waitUnknown');
  if (s < 60) return t('tutor.waitUnderMinute');
  return t('tutor.waitMinutes', { n: Math.round(s / 60) });
}

export function durationText(s: number): string {
  if (!(s > 0)) return '—';
  const m = Math.floor(s / 60);
  const sec = s % 60;
  if (m === 0) return t('tutor.durationSeconds', { s: sec });
  return t('tutor.durationMinutes', { m, s: sec });
}

// ---- sessions ----

const seenSessions = new Set<number>();
const autoOpened = new Set<number>();
const afterShown = new Set<number>();

export function sessionPath(id: number): string {
  return `/tutoring/session/${id}`;
}

/** afterSession shows, once per session, the student's rating dialog or the teacher's note dialog. */
export function afterSession(s: TutoringSession): void {
  const me = state.me;
  if (!me || afterShown.has(s.id)) return;
  afterShown.add(s.id);
  hideBanner('tutor-session');
  if (me.user.id === s.student_id) {
    if (!s.rating) ratingDialog(s);
  } else if (me.user.id === s.teacher_id) {
    noteDialog(s);
  }
}

function onSession(ev: ServerEvent): void {
  const s = ev.session as TutoringSession | undefined;
  const status = ev.status as 'ready' | 'live' | 'ended' | undefined;
  if (!s || typeof s.id !== 'number') return;
  const room = activeRoom();
  if (status === 'ended') {
    hideBanner('tutor-session');
    if (room && room.id === s.id) room.update(s, 'ended');
    else if (seenSessions.has(s.id)) afterSession(s);
    return;
  }
  seenSessions.add(s.id);
  if (room && room.id === s.id) {
    room.update(s, status === 'live' ? 'live' : 'ready');
    return;
  }
  if (currentPath() === sessionPath(s.id)) return; // the page is entering it
  if (!autoOpened.has(s.id)) {
    autoOpened.add(s.id);
    navigate(sessionPath(s.id));
    return;
  }
  const me = state.me;
  const peer = me?.user.id === s.student_id ? s.teacher_name : s.student_name;
  showBanner('tutor-session', {
    kind: 'info',
    code: 'session-running',
    message: { key: 'tutor.sessionRunning', params: { name: peer } },
    testId: 'banner-session-running',
    dismissible: false,
    action: { label: { key: 'tutor.returnToSession' }, testId: 'return-to-session', run: () => navigate(sessionPath(s.id)) },
  });
}

/** enteringSession notes that the page opened session id itself (no auto-open needed). */
export function enteringSession(id: number): void {
  seenSessions.add(id);
  autoOpened.add(id);
  hideBanner('tutor-session');
}

// ---- students ----

/** refreshRequest asks the server for the student's open request. */
export async function refreshRequest(): Promise<RequestView | null> {
  try {
    tutor.request = await api.get<RequestView>('/api/v1/tutoring/requests/current');
  } catch (err) {
    if (err instanceof ApiError && err.status === 404) tutor.request = null;
    else throw err;
  }
  changed();
  return tutor.request;
}

export function setRequest(v: RequestView | null): void {
  tutor.request = v;
  changed();
}

/** openRequest answers the request when it still waits for a teacher. */
export function openRequest(): RequestView | null {
  const v = tutor.request;
  return v && (v.request.status === 'waiting' || v.request.status === 'offered') ? v : null;
}

// ---- teachers: availability ----

const presenceKey = 'yunke.tutorPresence';

interface Wanted {
  subjects: string[];
  grades: number[];
}

function wanted(): Wanted | null {
  try {
    const raw = sessionStorage.getItem(presenceKey);
    return raw ? (JSON.parse(raw) as Wanted) : null;
  } catch {
    return null;
  }
}

function setWanted(w: Wanted | null): void {
  try {
    if (w) sessionStorage.setItem(presenceKey, JSON.stringify(w));
    else sessionStorage.removeItem(presenceKey);
  } catch {
    // storage unavailable
  }
}

/** setAvailability sends the teacher's choice; false when the socket is not connected. */
export function setAvailability(available: boolean, subjectCodes: string[], grades: number[]): boolean {
  const ok = send({ type: 'presence', available, subjects: subjectCodes, grades });
  if (!ok) {
    toast({ key: 'tutor.notConnected' }, 'error');
    return false;
  }
  setWanted(available ? { subjects: subjectCodes, grades } : null);
  return true;
}

function onPresence(ev: ServerEvent): void {
  const p: Presence = {
    online: ev.online !== false,
    available: ev.available === true,
    subjects: Array.isArray(ev.subjects) ? (ev.subjects as string[]) : [],
    grades: Array.isArray(ev.grades) ? (ev.grades as number[]) : [],
    reason: typeof ev.reason === 'string' ? ev.reason : undefined,
  };
  if (p.reason === 'lapsed') {
    setWanted(null);
    toast({ key: 'tutor.presenceLapsed' }, 'error', 10_000);
  }
  tutor.presence = p;
  changed();
}

function onHello(ev: ServerEvent): void {
  const roles = Array.isArray(ev.roles) ? (ev.roles as string[]) : [];
  if (roles.includes('student')) void refreshRequest().catch((err) => console.warn('current request', err));
  // The server forgets availability when the socket closes: say it again.
  const w = wanted();
  if (roles.includes('teacher') && w) send({ type: 'presence', available: true, subjects: w.subjects, grades: w.grades });
}

// ---- teachers: offers ----

interface OpenOffer {
  id: number;
  dialog: Dialog;
  deadline: number;
  timer: number;
  answering: 'accept' | 'decline' | null;
  accept: HTMLButtonElement;
  decline: HTMLButtonElement;
  countdown: HTMLElement;
  meter: HTMLProgressElement;
  total: number;
}

let offer: OpenOffer | null = null;
/** Offers answered or closed here; their repeats are ignored. */
const doneOffers = new Set<number>();

function closeOffer(): void {
  const o = offer;
  if (!o) return;
  offer = null;
  window.clearInterval(o.timer);
  o.dialog.close();
}

function tick(): void {
  const o = offer;
  if (!o) return;
  const left = Math.max(0, Math.ceil((o.deadline - Date.now()) / 1000));
  setText(o.countdown, left > 0 ? 'tutor.offerSecondsLeft' : 'tutor.offerExpiring', { n: left });
  o.countdown.dataset.seconds = String(left);
  o.meter.value = Math.max(0, o.deadline - Date.now()) / 1000;
  if (left === 0) o.accept.disabled = true;
  // No word from the server well after the deadline: the offer is gone.
  if (Date.now() > o.deadline + 5000) {
    doneOffers.add(o.id);
    closeOffer();
  }
}

function answer(kind: 'accept' | 'decline'): void {
  const o = offer;
  if (!o || o.answering) return;
  if (!send({ type: kind, request_id: o.id })) {
    toast({ key: 'tutor.notConnected' }, 'error');
    return;
  }
  o.answering = kind;
  o.accept.disabled = true;
  o.decline.disabled = true;
  setText(kind === 'accept' ? o.accept : o.decline, kind === 'accept' ? 'tutor.accepting' : 'tutor.declining');
}

function showOffer(ev: OfferEvent): void {
  const req = ev.request;
  const secondsLeft = Math.max(0, Number(ev.seconds_left) || 0);
  const dialog = openDialog({ title: 'tutor.offerTitle', testId: 'offer-dialog', escapable: false });
  dialog.el.dataset.requestId = String(req.id);
  const subject = h('dd', { 'data-testid': 'offer-subject', text: req.subject_code });
  void subjectName(req.subject_id, req.subject_code).then((n) => (subject.textContent = n));
  const rows = h(
    'dl',
    { class: 'info-list offer-info' },
    h('div', { class: 'info-row' }, tx('dt', 'tutor.student'), h('dd', { 'data-testid': 'offer-student', text: req.student_name })),
    h('div', { class: 'info-row' }, tx('dt', 'tutor.subject'), subject),
    h('div', { class: 'info-row' }, tx('dt', 'tutor.grade'), h('dd', { 'data-testid': 'offer-grade', text: t('grade.n', { n: req.grade }) })),
  );
  if (req.knowledge_point_id) {
    const kp = h('dd', { text: '…' });
    rows.append(h('div', { class: 'info-row' }, tx('dt', 'tutor.knowledgePoint'), kp));
    void knowledgePoints(req.subject_id, req.grade)
      .then((list) => (kp.textContent = list.find((k) => k.id === req.knowledge_point_id)?.name ?? `#${req.knowledge_point_id}`))
      .catch(() => (kp.textContent = `#${req.knowledge_point_id}`));
  }
  const text = req.text ? h('blockquote', { class: 'offer-text', 'data-testid': 'offer-text', text: req.text }) : tx('p', 'tutor.noText', undefined, { class: 'muted' });
  let image: HTMLElement | null = null;
  if (req.has_image) {
    const src = `/api/v1/tutoring/requests/${req.id}/image`;
    image = h('a', { href: src, target: '_blank', rel: 'noopener', class: 'offer-image' }, h('img', { src, alt: t('tutor.pictureAlt'), 'data-testid': 'offer-image' }));
  }
  const countdown = h('p', { class: 'offer-countdown', 'data-testid': 'offer-countdown', 'aria-live': 'off' });
  const meter = h('progress', { max: Math.max(1, secondsLeft), value: secondsLeft, 'aria-hidden': 'true' });
  const decline = button('tutor.decline', { 'data-testid': 'offer-decline' }, () => answer('decline'));
  const accept = button('tutor.accept', { class: 'btn primary', 'data-testid': 'offer-accept' }, () => answer('accept'));
  dialog.body.append(rows, text);
  if (image) dialog.body.append(image);
  dialog.body.append(h('div', { class: 'offer-timer' }, countdown, meter));
  dialog.actions.append(decline, accept);
  offer = { id: req.id, dialog, deadline: Date.now() + secondsLeft * 1000, timer: 0, answering: null, accept, decline, countdown, meter, total: secondsLeft };
  offer.timer = window.setInterval(tick, 250);
  tick();
  accept.focus();
}

function onOffer(ev: ServerEvent): void {
  const o = ev as unknown as OfferEvent;
  const id = o.request?.id;
  if (typeof id !== 'number') return;
  // The server repeats an open offer with heartbeats: the same id is the same offer.
  if (offer?.id === id || doneOffers.has(id)) return;
  closeOffer();
  showOffer(o);
}

const closedReason: Record<string, Key> = {
  expired: 'tutor.offerExpired',
  cancelled: 'tutor.offerCancelled',
  revoked: 'tutor.offerRevoked',
};

function onOfferClosed(ev: ServerEvent): void {
  const id = Number(ev.request_id);
  doneOffers.add(id);
  if (offer?.id !== id) return;
  closeOffer();
  const reason = String(ev.reason ?? '');
  const key = closedReason[reason];
  // (When the lapse also made the teacher unavailable, the presence event says so.)
  if (key) toast({ key }, 'info');
}

// ---- errors ----

const errorKeys: Record<string, Key> = {
  offer_gone: 'tutor.errOfferGone',
  not_open: 'tutor.errNotOpen',
  forbidden: 'tutor.errForbidden',
};

function onError(ev: ServerEvent): void {
  const code = String(ev.code ?? 'error');
  const message = typeof ev.message === 'string' ? ev.message : code;
  const key = errorKeys[code];
  const msg: Message = key ? { key } : { key: 'tutor.errGeneric', params: { message } };
  toast(msg, 'error');
  if (code === 'offer_gone' && offer?.answering) {
    doneOffers.add(offer.id);
    closeOffer();
  }
  // A refused presence change: show the state the server holds.
  changed();
}

// ---- wiring ----

function reset(): void {
  closeOffer();
  tutor.request = undefined;
  tutor.presence = null;
  seenSessions.clear();
  autoOpened.clear();
  doneOffers.clear();
  hideBanner('tutor-session');
  changed();
}

let started = false;

/** initTutoring registers the event handlers (once). */
export function initTutoring(): void {
  if (started) return;
  started = true;
  onEvent('hello', onHello);
  onEvent('presence', onPresence);
  onEvent('request', (ev) => setRequest(ev as unknown as RequestView));
  onEvent('offer', onOffer);
  onEvent('offer_closed', onOfferClosed);
  onEvent('session', onSession);
  onEvent('error', onError);
  onEvent('stopped', reset);
}

/** signedOut forgets the tab's tutoring state (the stored availability too). */
export function forgetTutoring(): void {
  setWanted(null);
  afterShown.clear();
  reset();
}
