// One-to-one tutoring pages: asking a question, waiting for a teacher, the
// session, the history, and the cards the homes show.

import { api, ApiError, query, upload, type List, type Me, type RequestView, type SessionJoin, type Subject, type TutoringSession } from '../api';
import { showBanner } from '../banners';
import { confirmDialog, toast } from '../dialog';
import { h } from '../dom';
import { t, type Key } from '../i18n';
import { currentPath, has, navigate, state, subjects } from '../session';
import {
  afterSession,
  durationText,
  enteringSession,
  knowledgePoints,
  onTutorChange,
  openRequest,
  refreshRequest,
  sessionPath,
  setAvailability,
  setRequest,
  subjectLabel,
  subjectName,
  tutor,
  waitText,
} from '../tutoring';
import { activeRoom, TutoringRoom } from '../tutoring-room';
import { noteDialog, ratingDialog } from '../tutoring-dialogs';
import { busy, button, checkboxGroup, errorMessage, FieldErrors, fillSelect, formatDateTime, loading, pageHeader, pager, selectField, setText, showApiError, table, tx, type Column, type Option } from '../ui';

/** Largest picture a question may carry (the server's limit too). */
const maxImageBytes = 4 << 20;
const imageTypes = ['image/png', 'image/jpeg', 'image/webp'];

function messageCard(testId: string, title: Key, text: Key | null, ...extra: Node[]): HTMLElement {
  return h('section', { class: 'card message-card', 'data-testid': testId }, tx('h1', title), text ? tx('p', text) : null, ...extra);
}

function homeLink(): HTMLElement {
  return tx('a', 'nav.home', undefined, { href: '#/' });
}

/** live runs fn on every tutoring change while el is on the page. */
function live(el: HTMLElement, fn: () => void): void {
  const off = onTutorChange(() => {
    if (!el.isConnected) {
      off();
      return;
    }
    fn();
  });
  fn();
}

// ---- asking ----

function textareaField(name: string, label: Key, attrs: Record<string, string | number>, testId: string): { box: HTMLElement; input: HTMLTextAreaElement; error: HTMLElement } {
  const id = `f-${name}-${Math.random().toString(36).slice(2, 7)}`;
  const input = h('textarea', { id, name, 'data-testid': testId, 'aria-describedby': `${id}-error`, ...attrs });
  const error = h('p', { class: 'field-error', id: `${id}-error`, 'data-testid': `field-error-${name}`, hidden: true, role: 'alert' });
  const box = h('div', { class: 'field', 'data-field': name }, tx('label', label, undefined, { for: id }), input, error);
  return { box, input, error };
}

function renderAsk(root: HTMLElement, me: Me): void {
  const grades: Option[] = Array.from({ length: 12 }, (_, i) => ({ value: String(i + 1), text: t('grade.n', { n: i + 1 }) }));
  const subject = selectField('subject_id', 'tutor.subject', [{ value: '', key: 'tutor.pickSubject' }], { testId: 'ask-subject' });
  const grade = selectField('grade', 'tutor.grade', grades, { testId: 'ask-grade' });
  grade.input.value = String(me.user.grade || 7);
  const kp = selectField('knowledge_point_id', 'tutor.knowledgePointOptional', [{ value: '', key: 'tutor.noKnowledgePoint' }], { testId: 'ask-kp' });
  const text = textareaField('text', 'tutor.question', { rows: 5, maxlength: 2000 }, 'ask-text');
  const counter = h('small', { class: 'field-hint', 'aria-live': 'off' });
  text.box.insertBefore(counter, text.error);
  const imageId = `f-image-${Math.random().toString(36).slice(2, 7)}`;
  const image = h('input', { id: imageId, name: 'image', type: 'file', accept: imageTypes.join(','), 'data-testid': 'ask-image', 'aria-describedby': `${imageId}-error` });
  const imageError = h('p', { class: 'field-error', id: `${imageId}-error`, 'data-testid': 'field-error-image', hidden: true, role: 'alert' });
  const preview = h('img', { class: 'ask-preview', alt: t('tutor.pictureAlt'), hidden: true });
  const clearImage = button('tutor.removePicture', { class: 'btn small', hidden: true, 'data-testid': 'ask-image-clear' });
  const imageBox = h('div', { class: 'field', 'data-field': 'image' }, tx('label', 'tutor.pictureOptional', undefined, { for: imageId }), image, tx('small', 'tutor.pictureHint', undefined, { class: 'field-hint' }), h('div', { class: 'ask-preview-row' }, preview, clearImage), imageError);
  const errors = new FieldErrors();
  errors.add('subject_id', subject);
  errors.add('grade', grade);
  errors.add('knowledge_point_id', kp);
  errors.add('text', text);
  errors.add('image', { box: imageBox, error: imageError });
  const progress = h('p', { class: 'progress', hidden: true, role: 'status' });
  const submit = tx('button', 'tutor.askSubmit', undefined, { type: 'submit', class: 'btn primary', 'data-testid': 'ask-submit' });
  const form = h(
    'form',
    { class: 'card editor ask-form', novalidate: true, 'data-testid': 'ask-form' },
    tx('p', 'tutor.askIntro', undefined, { class: 'muted' }),
    h('div', { class: 'form-grid' }, subject.box, grade.box, kp.box),
    text.box,
    imageBox,
    progress,
    h('div', { class: 'form-actions' }, submit, tx('a', 'action.cancel', undefined, { href: '#/', class: 'btn' })),
  );
  root.replaceChildren(h('section', { class: 'admin-page', 'data-testid': 'ask-page' }, pageHeader('tutor.askTitle'), form));

  const updateCounter = () => setText(counter, 'tutor.chars', { n: text.input.value.length, max: 2000 });
  text.input.addEventListener('input', updateCounter);
  updateCounter();

  // A student with an open question sees it instead of a second form.
  void refreshRequest()
    .then(() => {
      if (openRequest() && currentPath() === '/tutoring/ask') navigate('/tutoring/wait');
    })
    .catch(() => {});

  void subjects()
    .then((list) => {
      fillSelect(subject.input, [{ value: '', key: 'tutor.pickSubject' }, ...list.filter((s) => s.active).map((s) => ({ value: String(s.id), text: subjectLabel(s) }))]);
    })
    .catch((err) => showApiError(err));

  let kpSeq = 0;
  const loadPoints = () => {
    const seq = ++kpSeq;
    const sid = Number(subject.input.value);
    fillSelect(kp.input, [{ value: '', key: 'tutor.noKnowledgePoint' }]);
    kp.input.disabled = true;
    if (!sid) return;
    void knowledgePoints(sid, Number(grade.input.value))
      .then((list) => {
        if (seq !== kpSeq) return;
        fillSelect(kp.input, [{ value: '', key: list.length ? 'tutor.noKnowledgePoint' : 'tutor.noKnowledgePoints' }, ...list.map((k) => ({ value: String(k.id), text: k.name }))]);
        kp.input.disabled = list.length === 0;
      })
      .catch((err) => console.warn('knowledge points', err));
  };
  subject.input.addEventListener('change', loadPoints);
  grade.input.addEventListener('change', loadPoints);
  loadPoints();

  let objectURL = '';
  const resetImage = () => {
    image.value = '';
    if (objectURL) URL.revokeObjectURL(objectURL);
    objectURL = '';
    preview.hidden = true;
    preview.removeAttribute('src');
    clearImage.hidden = true;
  };
  /** checkImage answers the chosen picture, or null after explaining what is wrong with it. */
  const checkImage = (): File | null | false => {
    const file = image.files?.[0];
    if (!file) return null;
    if (!imageTypes.includes(file.type)) {
      errors.local('image', 'tutor.pictureType');
      return false;
    }
    if (file.size > maxImageBytes) {
      errors.local('image', 'tutor.pictureTooLarge', { size: (file.size / (1 << 20)).toFixed(1) });
      return false;
    }
    return file;
  };
  // After the field's own change handler, which clears its error.
  image.addEventListener('change', () => window.setTimeout(onImage, 0));
  const onImage = () => {
    const file = checkImage();
    if (objectURL) URL.revokeObjectURL(objectURL);
    objectURL = '';
    if (!file) {
      preview.hidden = true;
      clearImage.hidden = !image.files?.length;
      return;
    }
    objectURL = URL.createObjectURL(file);
    preview.src = objectURL;
    preview.hidden = false;
    clearImage.hidden = false;
  };
  clearImage.addEventListener('click', () => {
    errors.clear('image');
    resetImage();
  });

  form.addEventListener('submit', (ev) => {
    ev.preventDefault();
    if (submit.disabled) return;
    errors.clear();
    let bad = false;
    if (!subject.input.value) {
      errors.local('subject_id', 'form.required', { field: t('tutor.subject') });
      bad = true;
    }
    const file = checkImage();
    if (file === false) bad = true;
    if (!text.input.value.trim() && !file) {
      errors.local('text', 'tutor.questionRequired');
      bad = true;
    }
    if (bad) {
      form.querySelector<HTMLElement>('[aria-invalid="true"]')?.focus();
      return;
    }
    const body = new FormData();
    body.set('subject_id', subject.input.value);
    body.set('grade', grade.input.value);
    if (kp.input.value) body.set('knowledge_point_id', kp.input.value);
    body.set('text', text.input.value.trim());
    if (file) body.set('image', file, file.name);
    void busy(submit, 'tutor.asking', async () => {
      progress.hidden = !file;
      try {
        const view = await upload<RequestView>('/api/v1/tutoring/requests', body, (f) => setText(progress, 'import.uploading', { pct: Math.round(f * 100) }), 60_000);
        setRequest(view);
        navigate('/tutoring/wait');
      } catch (err) {
        if (err instanceof ApiError && err.code === 'already_waiting') {
          await refreshRequest().catch(() => {});
          toast({ key: 'tutor.alreadyWaiting' }, 'info');
          navigate('/tutoring/wait');
          return;
        }
        if (err instanceof ApiError && err.code === 'in_session') {
          showBanner('page-error', { kind: 'error', code: err.code, message: { key: 'tutor.inSession' }, testId: 'banner-error' });
          return;
        }
        if (err instanceof ApiError && err.code === 'too_large') {
          errors.local('image', 'tutor.pictureTooLarge', { size: file ? (file.size / (1 << 20)).toFixed(1) : '>4' });
          return;
        }
        showApiError(err, errors);
      } finally {
        progress.hidden = true;
      }
    });
  });
}

// ---- waiting ----

function questionSummary(v: RequestView): HTMLElement {
  const r = v.request;
  const subject = h('dd', { text: r.subject_code });
  void subjectName(r.subject_id, r.subject_code).then((n) => (subject.textContent = n));
  const dl = h(
    'dl',
    { class: 'info-list' },
    h('div', { class: 'info-row' }, tx('dt', 'tutor.subject'), subject),
    h('div', { class: 'info-row' }, tx('dt', 'tutor.grade'), h('dd', { text: t('grade.n', { n: r.grade }) })),
    h('div', { class: 'info-row' }, tx('dt', 'tutor.askedAt'), h('dd', { text: formatDateTime(r.created_at) })),
  );
  const parts: HTMLElement[] = [dl];
  if (r.text) parts.push(h('blockquote', { class: 'offer-text', text: r.text }));
  if (r.has_image) parts.push(h('img', { class: 'ask-preview', src: `/api/v1/tutoring/requests/${r.id}/image`, alt: t('tutor.pictureAlt') }));
  return h('div', { class: 'question-summary' }, ...parts);
}

function renderWait(root: HTMLElement): void {
  const card = h('section', { class: 'card panel-card wait-card', 'data-testid': 'tutor-waiting', 'aria-live': 'polite' });
  root.replaceChildren(h('section', { class: 'admin-page' }, pageHeader('tutor.waitTitle'), card));
  let fetched = false;
  let shownId = 0;
  const cancel = button('tutor.cancelRequest', { class: 'btn danger', 'data-testid': 'cancel-request' });
  cancel.addEventListener('click', () => {
    const v = openRequest();
    if (!v) return;
    void (async () => {
      const ok = await confirmDialog('tutor.cancelTitle', 'tutor.cancelConfirm', 'tutor.cancelRequest', { danger: true, testId: 'cancel-dialog' });
      if (!ok) return;
      await busy(cancel, 'common.saving', async () => {
        try {
          setRequest(await api.post<RequestView>(`/api/v1/tutoring/requests/${v.request.id}/cancel`));
          toast({ key: 'tutor.cancelled' }, 'info');
        } catch (err) {
          if (err instanceof ApiError && err.code === 'not_open') toast({ key: 'tutor.errNotOpen' }, 'info');
          else toast(errorMessage(err), 'error');
          await refreshRequest().catch(() => {});
        }
      });
    })();
  });
  const status = h('p', { class: 'wait-status', 'data-testid': 'wait-status' });
  const position = h('strong', { class: 'wait-position', 'data-testid': 'queue-position' });
  const length = h('span', { class: 'muted', 'data-testid': 'queue-length' });
  const eta = h('span', { 'data-testid': 'wait-estimate' });
  const summary = h('div');
  const waiting = h(
    'div',
    { class: 'wait-body' },
    h('div', { class: 'wait-head' }, h('span', { class: 'spinner', 'aria-hidden': 'true' }), status),
    h('div', { class: 'wait-queue' }, position, length),
    h('p', {}, tx('span', 'tutor.estimate'), ' ', eta),
    summary,
    h('div', { class: 'form-actions' }, cancel),
  );
  const render = () => {
    const v = tutor.request;
    if (v === undefined) {
      card.replaceChildren(loading());
      if (!fetched) {
        fetched = true;
        void refreshRequest().catch((err) => card.replaceChildren(h('p', { class: 'form-error', text: t(errorMessage(err).key, errorMessage(err).params) })));
      }
      return;
    }
    card.dataset.status = v?.request.status ?? 'none';
    if (!v || v.request.status === 'cancelled') {
      card.replaceChildren(tx('p', v ? 'tutor.requestCancelled' : 'tutor.noRequest'), h('div', { class: 'form-actions' }, tx('a', 'tutor.askAgain', undefined, { href: '#/tutoring/ask', class: 'btn primary', 'data-testid': 'ask-again' }), homeLink()));
      return;
    }
    if (v.request.status === 'matched') {
      card.replaceChildren(h('div', { class: 'wait-head' }, h('span', { class: 'spinner', 'aria-hidden': 'true' }), tx('p', 'tutor.matched', undefined, { 'data-testid': 'wait-status' })));
      if (v.request.session_id && currentPath() === '/tutoring/wait') navigate(sessionPath(v.request.session_id));
      return;
    }
    const offered = v.request.status === 'offered' || v.position === 0;
    setText(status, offered ? 'tutor.statusOffered' : 'tutor.statusWaitingTeacher');
    status.dataset.status = v.request.status;
    position.hidden = offered;
    setText(position, 'tutor.position', { n: v.position });
    position.dataset.position = String(v.position);
    setText(length, 'tutor.queueLength', { n: v.queue_length });
    eta.textContent = waitText(v.estimated_wait_s);
    if (shownId !== v.request.id) {
      shownId = v.request.id;
      summary.replaceChildren(questionSummary(v));
    }
    if (card.firstChild !== waiting) card.replaceChildren(waiting);
  };
  live(card, render);
}

// ---- the session ----

async function renderSession(root: HTMLElement, id: number, me: Me): Promise<void> {
  const path = sessionPath(id);
  const current = activeRoom();
  if (current && current.id === id) {
    if (root.firstChild !== current.root || root.childNodes.length !== 1) {
      root.replaceChildren(current.root);
      current.root.querySelectorAll('video').forEach((v) => void v.play().catch(() => {}));
    }
    return;
  }
  enteringSession(id);
  root.replaceChildren(h('section', { class: 'card message-card', 'data-testid': 'tutor-connecting' }, tx('h1', 'tutor.connecting'), loading()));
  let grant: SessionJoin;
  try {
    grant = await api.post<SessionJoin>(`/api/v1/tutoring/sessions/${id}/token`);
  } catch (err) {
    if (currentPath() !== path) return;
    if (err instanceof ApiError && err.code === 'ended') {
      root.replaceChildren(messageCard('tutor-ended', 'tutor.sessionEnded', null, tx('a', 'tutor.history', undefined, { href: '#/tutoring/history' }), homeLink()));
      void api
        .get<TutoringSession>(`/api/v1/tutoring/sessions/${id}`)
        .then((s) => afterSession(s))
        .catch(() => {});
      return;
    }
    const m = errorMessage(err);
    root.replaceChildren(messageCard('tutor-error', 'tutor.cannotJoin', null, h('p', { 'data-testid': 'tutor-error-text', text: t(m.key, m.params) }), homeLink()));
    return;
  }
  if (currentPath() !== path || activeRoom()) return;
  const subject = await subjectName(grant.session.subject_id);
  if (currentPath() !== path || activeRoom()) return;
  const room = new TutoringRoom(grant, me.user.id, subject, {
    onEnded: (s, failure) => {
      // A toast, not a banner: the page change below clears error banners.
      if (failure) toast(failure.message, 'error', 10_000);
      if (currentPath() === path) navigate('/');
      if (s) afterSession(s);
    },
  });
  root.replaceChildren(room.root);
  try {
    await room.connect();
  } catch (failure) {
    const f = failure as { code: string; message: { key: Key; params?: Record<string, string | number> } };
    if (currentPath() === path) {
      root.replaceChildren(
        messageCard('tutor-error', 'tutor.cannotJoin', null, h('p', { 'data-testid': 'tutor-error-text', 'data-code': f.code, text: t(f.message.key, f.message.params) }), button('action.reload', { class: 'btn primary' }, () => navigate(path)), homeLink()),
      );
    }
  }
}

// ---- history ----

function starsText(score: number): string {
  return '★'.repeat(score) + '☆'.repeat(Math.max(0, 5 - score));
}

const reasonKeys: Record<string, Key> = {
  left: 'tutor.reason.left',
  max_length: 'tutor.reason.max_length',
  no_show: 'tutor.reason.no_show',
  ended_by_student: 'tutor.reason.ended_by_student',
  ended_by_teacher: 'tutor.reason.ended_by_teacher',
  shutdown: 'tutor.reason.shutdown',
};

function reasonText(s: TutoringSession): string {
  if (!s.ended_at) return t('tutor.inProgress');
  const key = s.end_reason ? reasonKeys[s.end_reason] : undefined;
  return key ? t(key) : (s.end_reason ?? '—');
}

function ratingCell(s: TutoringSession): Node {
  const r = s.rating;
  if (!r) return h('span', { class: 'muted', 'data-testid': 'history-rating', 'data-score': '0', text: t('tutor.notRated') });
  return h(
    'div',
    { class: 'history-rating', 'data-testid': 'history-rating', 'data-score': r.score },
    h('span', { class: 'stars-static', role: 'img', 'aria-label': t('tutor.starsN', { n: r.score }), text: starsText(r.score) }),
    r.comment ? h('p', { class: 'history-comment', 'data-testid': 'history-comment', text: r.comment }) : null,
    h('span', { class: r.solved ? 'pill ok' : 'pill off', text: t(r.solved ? 'tutor.solved' : 'tutor.notSolved') }),
  );
}

/** historyAs is whose history to show: the home's role, or the one picked. */
function historyRoles(): ('student' | 'teacher')[] {
  const out: ('student' | 'teacher')[] = [];
  if (has('teacher')) out.push('teacher');
  if (has('student')) out.push('student');
  return out;
}

function renderHistory(root: HTMLElement): void {
  const roles = historyRoles();
  let as = roles[0] ?? 'student';
  let offset = 0;
  const limit = 20;
  let subjectList: Subject[] = [];
  let kpNames = new Map<number, string>();
  const listBox = h('div', { class: 'list-box', 'data-testid': 'history-list' });
  const nav = roles.length > 1 ? h('nav', { class: 'subnav' }) : null;
  root.replaceChildren(h('section', { class: 'admin-page', 'data-testid': 'history-page' }, pageHeader('tutor.history'), nav ?? '', listBox));
  const subjectOf = (id: number) => {
    const s = subjectList.find((x) => x.id === id);
    return s ? subjectLabel(s) : `#${id}`;
  };
  const load = async () => {
    if (nav) {
      nav.replaceChildren(
        ...roles.map((r) => {
          const a = tx('a', r === 'teacher' ? 'tutor.historyAsTeacher' : 'tutor.historyAsStudent', undefined, { href: '#/tutoring/history', 'aria-current': r === as ? 'page' : undefined });
          a.addEventListener('click', (ev) => {
            ev.preventDefault();
            as = r;
            offset = 0;
            void load();
          });
          return a;
        }),
      );
    }
    listBox.replaceChildren(loading());
    let list: List<TutoringSession>;
    try {
      subjectList = await subjects().catch(() => []);
      list = await api.get<List<TutoringSession>>(`/api/v1/tutoring/sessions${query({ as, limit, offset })}`);
    } catch (err) {
      listBox.replaceChildren();
      showApiError(err);
      return;
    }
    const items = list.items ?? [];
    if (as === 'teacher') {
      // Names of the knowledge points the notes mention.
      const wanted = new Set<number>();
      for (const s of items) if (s.teacher_note?.knowledge_point_ids?.length) wanted.add(s.subject_id);
      kpNames = new Map();
      await Promise.all(
        [...wanted].map((subject) =>
          knowledgePoints(subject)
            .then((kps) => kps.forEach((k) => kpNames.set(k.id, k.name)))
            .catch(() => {}),
        ),
      );
    }
    const teacher = as === 'teacher';
    const columns: Column<TutoringSession>[] = [
      { head: 'tutor.colDate' as Key, cell: (s: TutoringSession) => h('time', { datetime: s.started_at ?? s.created_at, text: formatDateTime(s.started_at ?? s.created_at) }) },
      { head: 'tutor.subject' as Key, cell: (s: TutoringSession) => `${subjectOf(s.subject_id)} · ${t('grade.n', { n: s.grade })}` },
      { head: (teacher ? 'tutor.colStudent' : 'tutor.colTeacher') as Key, cell: (s: TutoringSession) => (teacher ? s.student_name : s.teacher_name) },
      { head: 'tutor.colDuration' as Key, cell: (s: TutoringSession) => durationText(s.duration_s), class: 'num' },
      { head: 'tutor.colEnd' as Key, cell: (s: TutoringSession) => reasonText(s) },
      { head: 'tutor.colRating' as Key, cell: (s: TutoringSession) => ratingCell(s) },
    ];
    if (teacher) {
      columns.push({
        head: 'tutor.colNote',
        cell: (s: TutoringSession) => {
          const n = s.teacher_note;
          if (!n || (!n.note && !n.knowledge_point_ids?.length)) return h('span', { class: 'muted', text: '—' });
          const kps = (n.knowledge_point_ids ?? []).map((id) => kpNames.get(id) ?? `#${id}`);
          return h('div', { 'data-testid': 'history-note' }, n.note ? h('p', { class: 'history-comment', text: n.note }) : null, kps.length ? h('small', { class: 'muted', text: kps.join('、') }) : null);
        },
      });
    }
    columns.push({
      head: 'common.actions',
      class: 'actions',
      cell: (s: TutoringSession) => {
        if (!s.ended_at) return tx('a', 'tutor.returnToSession', undefined, { href: `#${sessionPath(s.id)}`, class: 'btn small' });
        if (teacher) return button(s.teacher_note ? 'tutor.editNote' : 'tutor.addNote', { class: 'btn small', 'data-testid': 'history-note-edit' }, () => noteDialog(s, () => void load()));
        return button(s.rating ? 'tutor.changeRating' : 'tutor.rate', { class: s.rating ? 'btn small' : 'btn small primary', 'data-testid': 'history-rate' }, () => ratingDialog(s, () => void load()));
      },
    });
    const tbl = table(columns, items, 'tutor.historyEmpty', { 'data-testid': 'history-table' });
    // Mark the rows for tests and styling.
    tbl.querySelectorAll('tbody tr').forEach((tr, i) => {
      const s = items[i];
      if (!s) return;
      tr.setAttribute('data-testid', 'history-row');
      tr.setAttribute('data-session-id', String(s.id));
    });
    listBox.replaceChildren(tbl, pager(offset, limit, list.total ?? items.length, (o) => {
      offset = o;
      void load();
    }));
  };
  void load();
}

// ---- home cards ----

/** askCard is the student's "ask a teacher" card; it shows an open question's place in line. */
export function askCard(): HTMLElement {
  const status = h('div', { class: 'ask-status', 'data-testid': 'ask-status' });
  const card = h(
    'section',
    { class: 'card panel-card', 'data-testid': 'ask-card' },
    tx('h2', 'tutor.askTitle'),
    tx('p', 'tutor.askCardText', undefined, { class: 'muted' }),
    status,
  );
  const ask = tx('a', 'tutor.askButton', undefined, { href: '#/tutoring/ask', class: 'btn primary', 'data-testid': 'ask-teacher' });
  const view = tx('a', 'tutor.viewQueue', undefined, { href: '#/tutoring/wait', class: 'btn primary', 'data-testid': 'view-queue' });
  let shown = '';
  live(card, () => {
    const v = openRequest();
    const key = v ? `${v.request.id}:${v.position}` : 'none';
    if (key === shown) return;
    shown = key;
    if (!v) {
      status.replaceChildren(h('div', { class: 'form-actions' }, ask));
      return;
    }
    const line = v.position > 0 ? tx('p', 'tutor.cardInLine', { n: v.position }) : tx('p', 'tutor.statusOffered');
    status.replaceChildren(line, h('div', { class: 'form-actions' }, view));
  });
  if (tutor.request === undefined) void refreshRequest().catch(() => {});
  return card;
}

/** historyCard shows the latest sessions and links to the whole history. */
export function historyCard(as: 'student' | 'teacher'): HTMLElement {
  const list = h('ul', { class: 'activity' }, h('li', {}, loading()));
  const card = h('section', { class: 'card panel-card', 'data-testid': 'tutoring-history-card' }, tx('h2', 'home.tutoringHistory'), list, tx('a', 'tutor.viewHistory', undefined, { href: '#/tutoring/history', 'data-testid': 'tutoring-history-link' }));
  void Promise.all([api.get<List<TutoringSession>>(`/api/v1/tutoring/sessions${query({ as, limit: 3 })}`), subjects().catch(() => [] as Subject[])])
    .then(([res, subs]) => {
      const items = res.items ?? [];
      if (items.length === 0) {
        list.replaceChildren(tx('li', 'tutor.historyEmpty', undefined, { class: 'muted' }));
        return;
      }
      list.replaceChildren(
        ...items.map((s) => {
          const sub = subs.find((x) => x.id === s.subject_id);
          return h(
            'li',
            {},
            h('time', { datetime: s.created_at, text: formatDateTime(s.created_at) }),
            h('span', { text: sub ? subjectLabel(sub) : `#${s.subject_id}` }),
            h('span', { class: 'muted', text: as === 'teacher' ? s.student_name : s.teacher_name }),
            s.rating ? h('span', { class: 'stars-static', text: starsText(s.rating.score), 'aria-label': t('tutor.starsN', { n: s.rating.score }) }) : null,
          );
        }),
      );
    })
    .catch((err) => {
      console.error('tutoring history', err);
      list.replaceChildren(tx('li', 'tutor.historyFailed', undefined, { class: 'muted' }));
    });
  return card;
}

/** availabilityCard is the teacher's "available for tutoring" switch with subjects and grades. */
export function availabilityCard(me: Me): HTMLElement {
  const u = me.user;
  const switchId = `avail-${Math.random().toString(36).slice(2, 7)}`;
  const toggle = h('input', { type: 'checkbox', role: 'switch', id: switchId, class: 'switch', 'data-testid': 'tutor-available' });
  const status = h('p', { class: 'presence-status', 'data-testid': 'presence-status', role: 'status' });
  const choices = h('div', { class: 'avail-choices' }, loading());
  const card = h(
    'section',
    { class: 'card panel-card', 'data-testid': 'availability-card' },
    tx('h2', 'tutor.availTitle'),
    h('label', { class: 'switch-row', for: switchId }, toggle, tx('span', 'tutor.available')),
    status,
    choices,
  );
  let subjectBoxes: ReturnType<typeof checkboxGroup> | null = null;
  let gradeBoxes: ReturnType<typeof checkboxGroup> | null = null;
  let pending = false;
  /** What the teacher asked for while the server's answer is pending. */
  let requested = false;
  let pendingTimer: number | undefined;
  let lastServer = '';
  const grades = u.grades?.length ? [...u.grades].sort((a, b) => a - b) : Array.from({ length: 12 }, (_, i) => i + 1);
  gradeBoxes = checkboxGroup('grades', 'tutor.availGrades', grades.map((g) => ({ value: String(g), text: t('grade.n', { n: g }) })), 'avail-grade');
  gradeBoxes.set(grades.map(String));

  const selection = () => ({ subjects: subjectBoxes?.values() ?? [], grades: (gradeBoxes?.values() ?? []).map(Number) });

  const render = () => {
    const p = tutor.presence;
    const key = JSON.stringify(p);
    if (key !== lastServer) {
      lastServer = key;
      pending = false;
      window.clearTimeout(pendingTimer);
      if (p?.available) {
        if (p.subjects.length) subjectBoxes?.set(p.subjects);
        if (p.grades.length) gradeBoxes?.set(p.grades.map(String));
      }
    }
    toggle.checked = pending ? requested : !!p?.available;
    toggle.disabled = pending || !p;
    card.dataset.available = String(!!p?.available);
    let k: Key;
    if (!p) k = 'tutor.presenceUnknown';
    else if (pending) k = 'tutor.presenceUpdating';
    else if (p.reason === 'lapsed') k = 'tutor.presenceLapsed';
    else if (p.available) k = 'tutor.presenceOn';
    else k = 'tutor.presenceOff';
    setText(status, k);
    status.dataset.available = String(!!p?.available);
    status.dataset.reason = p?.reason ?? '';
    status.classList.toggle('warn', p?.reason === 'lapsed');
  };

  const push = (available: boolean) => {
    const sel = selection();
    if (available && (sel.subjects.length === 0 || sel.grades.length === 0)) {
      toast({ key: 'tutor.availPick' }, 'error');
      render();
      return;
    }
    if (setAvailability(available, sel.subjects, sel.grades)) {
      pending = true;
      requested = available;
      // A refused change (an error event) brings no presence answer.
      window.clearTimeout(pendingTimer);
      pendingTimer = window.setTimeout(() => {
        pending = false;
        if (card.isConnected) render();
      }, 5000);
      lastServer = JSON.stringify(tutor.presence);
    }
    render();
  };

  toggle.addEventListener('change', () => push(toggle.checked));
  choices.addEventListener('change', () => {
    if (tutor.presence?.available) push(true);
  });

  void subjects()
    .then((list) => {
      const own = u.subject_ids?.length ? list.filter((s) => u.subject_ids?.includes(s.id)) : list.filter((s) => s.active);
      subjectBoxes = checkboxGroup('subjects', 'tutor.availSubjects', own.map((s) => ({ value: s.code, text: subjectLabel(s) })), 'avail-subject');
      subjectBoxes.set(own.map((s) => s.code));
      const p = tutor.presence;
      if (p?.available && p.subjects.length) subjectBoxes.set(p.subjects);
      choices.replaceChildren(subjectBoxes.box, gradeBoxes!.box);
      render();
    })
    .catch((err) => {
      console.error('subjects', err);
      choices.replaceChildren(tx('p', 'tutor.historyFailed', undefined, { class: 'muted' }));
    });
  live(card, render);
  return card;
}

// ---- routing ----

/** renderTutoring draws a /tutoring/… page; it answers false for an unknown path. */
export function renderTutoring(root: HTMLElement, path: string, forbidden: (root: HTMLElement) => void): boolean {
  const me = state.me;
  if (!me) return true;
  if (path === '/tutoring/ask' || path === '/tutoring/wait') {
    if (!has('student')) forbidden(root);
    else if (path === '/tutoring/ask') renderAsk(root, me);
    else renderWait(root);
    return true;
  }
  if (path === '/tutoring/history') {
    if (!has('student') && !has('teacher')) forbidden(root);
    else renderHistory(root);
    return true;
  }
  const m = /^\/tutoring\/session\/(\d+)$/.exec(path);
  if (m) {
    void renderSession(root, Number(m[1]), me);
    return true;
  }
  return false;
}
