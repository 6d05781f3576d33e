// One-to-one tutoring, the parts that live for the whole tab: what the event
// socket says about the student's request, the teacher's availability and
// incoming offers, and running sessions (docs/api.md, "One-to-one tutoring").
// Components draw this state: OfferDialog the offer, SessionDialogs the
// rating and note asked for after a session, the cards on the homes the rest.

import { reactive } from 'vue';

import { onEvent, send, type ServerEvent } from '@/api/events';
import { currentRequest, type RequestView, type TutoringRequest, type TutoringSession } from '@/api/tutoring';
import type { Key, Message } from '@/locales';
import { toast } from '@/utils/toast';

import { hideBanner, showBanner } from './banners';
import { session } from './session';

export interface Presence {
  online: boolean;
  available: boolean;
  subjects: string[];
  grades: number[];
  reason?: string;
}

/** An offer shown to the teacher, until answered, withdrawn or expired. */
export interface Offer {
  request: TutoringRequest;
  /** Date.now() at which the offer expires. */
  deadline: number;
  /** Seconds the offer had when it arrived. */
  total: number;
  answering: 'accept' | 'decline' | null;
}

/** The dialog asked for after a session: the student's rating or the teacher's note. */
export interface SessionPrompt {
  kind: 'rating' | 'note';
  session: TutoringSession;
  onSaved?: (s: TutoringSession) => void;
}

export const tutor = reactive<{
  /** The student's open (or just closed) request; undefined: not known yet, null: none. */
  request: RequestView | null | undefined;
  /** The teacher's availability as the server last told it. */
  presence: Presence | null;
  /** Counts presence events and refused presence changes: a change means the server answered. */
  answers: number;
  offer: Offer | null;
  prompt: SessionPrompt | null;
}>({ request: undefined, presence: null, answers: 0, offer: null, prompt: null });

/** What the store needs from the app: moving between pages. */
export interface TutoringHooks {
  navigate(path: string): void;
  currentPath(): string;
}

let hooks: TutoringHooks = { navigate: () => {}, currentPath: () => '' };

// ---- sessions ----

export type SessionStatus = 'ready' | 'live' | 'ended';

/** The session room open in this tab (live/tutoring-room.ts registers itself). */
export interface SessionRoomHandle {
  readonly id: number;
  update(s: TutoringSession, status: SessionStatus): void;
}

let activeRoom: SessionRoomHandle | null = null;

export function setActiveSessionRoom(room: SessionRoomHandle | null): void {
  activeRoom = room;
}

const seenSessions = new Set<number>();
const autoOpened = new Set<number>();
const afterShown = new Set<number>();

export function sessionPath(id: number): string {
  return `/tutoring/session/${id}`;
}

/** openRating asks the student to rate a session (or change the rating). */
export function openRating(s: TutoringSession, onSaved?: (s: TutoringSession) => void): void {
  tutor.prompt = { kind: 'rating', session: s, onSaved };
}

/** openNote asks the teacher for a session note. */
export function openNote(s: TutoringSession, onSaved?: (s: TutoringSession) => void): void {
  tutor.prompt = { kind: 'note', session: s, onSaved };
}

/** afterSession shows, once per session, the student's rating dialog or the teacher's note dialog. */
export function afterSession(s: TutoringSession): void {
  const me = session.me;
  if (!me || afterShown.has(s.id)) return;
  afterShown.add(s.id);
  hideBanner('tutor-session');
  if (me.user.id === s.student_id) {
    if (!s.rating) openRating(s);
  } else if (me.user.id === s.teacher_id) {
    openNote(s);
  }
}

function onSession(ev: ServerEvent): void {
  const s = ev.session as TutoringSession | undefined;
  const status = ev.status as SessionStatus | undefined;
  if (!s || typeof s.id !== 'number') return;
  const room = activeRoom;
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
  if (hooks.currentPath() === sessionPath(s.id)) return; // the page is entering it
  if (!autoOpened.has(s.id)) {
    autoOpened.add(s.id);
    hooks.navigate(sessionPath(s.id));
    return;
  }
  const peer = session.me?.user.id === s.student_id ? s.teacher_name : s.student_name;
  showBanner('tutor-session', {
    kind: 'info',
    code: 'session-running',
    message: { key: 'tutor.sessionRunning', params: { name: peer } },
    testId: 'banner-session-running',
    dismissible: false,
    action: { label: { key: 'tutor.returnToSession' }, testId: 'return-to-session', run: () => hooks.navigate(sessionPath(s.id)) },
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
  tutor.request = await currentRequest();
  return tutor.request;
}

export function setRequest(v: RequestView | null): void {
  tutor.request = v;
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

/** wantsAvailability tells whether this tab's teacher chose to be available for tutoring (restored on every reconnect). */
export function wantsAvailability(): boolean {
  return wanted() !== null;
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
  tutor.answers++;
}

function onHello(ev: ServerEvent): void {
  const roles = Array.isArray(ev.roles) ? (ev.roles as string[]) : [];
  if (roles.includes('student')) void refreshRequest().catch((err) => console.warn('current request', err));
  // The server forgets availability when the socket closes: say it again.
  const w = wanted();
  if (roles.includes('teacher') && w) send({ type: 'presence', available: true, subjects: w.subjects, grades: w.grades });
}

// ---- teachers: offers ----

/** Offers answered or closed here; their repeats are ignored. */
const doneOffers = new Set<number>();

/** closeOffer drops the offer on screen; the server's repeats of it are ignored. */
export function closeOffer(): void {
  if (tutor.offer) doneOffers.add(tutor.offer.request.id);
  tutor.offer = null;
}

/** answerOffer accepts or declines the offer on screen. */
export function answerOffer(kind: 'accept' | 'decline'): void {
  const o = tutor.offer;
  if (!o || o.answering) return;
  if (!send({ type: kind, request_id: o.request.id })) {
    toast({ key: 'tutor.notConnected' }, 'error');
    return;
  }
  o.answering = kind;
}

function onOffer(ev: ServerEvent): void {
  const req = (ev.request ?? null) as TutoringRequest | null;
  const id = req?.id;
  if (!req || typeof id !== 'number') return;
  // The server repeats an open offer with heartbeats: the same id is the same offer.
  if (tutor.offer?.request.id === id || doneOffers.has(id)) return;
  const secondsLeft = Math.max(0, Number(ev.seconds_left) || 0);
  tutor.offer = { request: req, deadline: Date.now() + secondsLeft * 1000, total: secondsLeft, answering: null };
}

const closedReason: Record<string, Key> = {
  expired: 'tutor.offerExpired',
  cancelled: 'tutor.offerCancelled',
  revoked: 'tutor.offerRevoked',
};

function onOfferClosed(ev: ServerEvent): void {
  const id = Number(ev.request_id);
  doneOffers.add(id);
  if (tutor.offer?.request.id !== id) return;
  closeOffer();
  const key = closedReason[String(ev.reason ?? '')];
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
  if (code === 'offer_gone' && tutor.offer?.answering) closeOffer();
  // A refused presence change: the cards show the state the server holds.
  tutor.answers++;
}

// ---- wiring ----

function reset(): void {
  tutor.offer = null;
  tutor.request = undefined;
  tutor.presence = null;
  seenSessions.clear();
  autoOpened.clear();
  doneOffers.clear();
  hideBanner('tutor-session');
}

let started = false;

/** initTutoring registers the event handlers (once). */
export function initTutoring(h: TutoringHooks): void {
  hooks = h;
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

/** forgetTutoring forgets the tab's tutoring state on sign-out (the stored availability too). */
export function forgetTutoring(): void {
  setWanted(null);
  afterShown.clear();
  tutor.prompt = null;
  reset();
}
