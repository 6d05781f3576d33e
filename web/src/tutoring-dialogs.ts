// After a tutoring session: the student's rating and the teacher's note.

import { api, ApiError, type TutoringSession } from './api';
import { openDialog, toast } from './dialog';
import { h } from './dom';
import { t } from './i18n';
import { knowledgePoints, subjectName } from './tutoring';
import { busy, button, errorMessage, FieldErrors, setText, tx } from './ui';

let seq = 0;

/** stars is a 1–5 radio group (arrow keys move between the stars). */
function starGroup(initial: number): { box: HTMLFieldSetElement; value(): number; error: HTMLElement } {
  const name = `stars-${++seq}`;
  const list = h('div', { class: 'stars' });
  const inputs: HTMLInputElement[] = [];
  for (let n = 1; n <= 5; n++) {
    const input = h('input', { type: 'radio', name, value: n, id: `${name}-${n}`, 'data-testid': `rating-star-${n}`, class: 'star-input' });
    if (n === initial) input.checked = true;
    inputs.push(input);
    const label = h('label', { for: input.id, class: 'star', title: t('tutor.starsN', { n }) }, h('span', { 'aria-hidden': 'true', text: '★' }), h('span', { class: 'sr-only', text: t('tutor.starsN', { n }) }));
    list.append(input, label);
  }
  const error = h('p', { class: 'field-error', 'data-testid': 'field-error-score', hidden: true, role: 'alert' });
  const box = h('fieldset', { class: 'field star-field', 'data-field': 'score' }, tx('legend', 'tutor.ratingScore'), list, error);
  const paint = () => {
    const v = Number(inputs.find((i) => i.checked)?.value ?? 0);
    list.dataset.value = String(v);
    inputs.forEach((i, k) => i.nextElementSibling?.classList.toggle('on', k < v));
  };
  list.addEventListener('change', paint);
  paint();
  return { box, error, value: () => Number(inputs.find((i) => i.checked)?.value ?? 0) };
}

/** ratingDialog lets the student rate an ended session (or change the rating for a while). */
export function ratingDialog(s: TutoringSession, onSaved?: (s: TutoringSession) => void): void {
  const d = openDialog({ title: s.rating ? 'tutor.ratingChangeTitle' : 'tutor.ratingTitle', testId: 'rating-dialog' });
  const who = tx('p', 'tutor.ratingWho', { name: s.teacher_name, subject: '' }, { class: 'muted' });
  void subjectName(s.subject_id).then((subject) => setText(who, 'tutor.ratingWho', { name: s.teacher_name, subject }));
  const stars = starGroup(s.rating?.score ?? 0);
  const commentId = `rating-comment-${++seq}`;
  const comment = h('textarea', { id: commentId, name: 'comment', rows: 3, maxlength: 1000, 'data-testid': 'rating-comment' });
  comment.value = s.rating?.comment ?? '';
  const commentError = h('p', { class: 'field-error', hidden: true, role: 'alert' });
  const commentBox = h('div', { class: 'field', 'data-field': 'comment' }, tx('label', 'tutor.ratingComment', undefined, { for: commentId }), comment, commentError);
  const solved = h('input', { type: 'checkbox', name: 'solved', 'data-testid': 'rating-solved' });
  solved.checked = s.rating?.solved ?? false;
  const solvedBox = h('label', { class: 'check' }, solved, tx('span', 'tutor.ratingSolved'));
  const formError = h('p', { class: 'form-error', 'data-testid': 'rating-error', hidden: true, role: 'alert' });
  const errors = new FieldErrors();
  errors.add('score', { box: stars.box, error: stars.error });
  errors.add('comment', { box: commentBox, error: commentError });
  const form = h('form', { class: 'dialog-form', novalidate: true }, who, stars.box, commentBox, solvedBox, formError);
  d.body.append(form);
  const skip = button('tutor.skip', { 'data-testid': 'rating-skip' }, () => d.close());
  const submit = button('tutor.ratingSubmit', { class: 'btn primary', 'data-testid': 'rating-submit' });
  d.actions.append(skip, submit);
  const save = () => {
    if (submit.disabled) return;
    errors.clear();
    formError.hidden = true;
    const score = stars.value();
    if (score < 1) {
      errors.local('score', 'tutor.ratingPick');
      return;
    }
    void busy(submit, 'common.saving', async () => {
      try {
        const saved = await api.put<TutoringSession>(`/api/v1/tutoring/sessions/${s.id}/rating`, { score, comment: comment.value.trim(), solved: solved.checked });
        d.close();
        toast({ key: 'tutor.ratingThanks' }, 'ok');
        onSaved?.(saved);
      } catch (err) {
        console.error('rating failed', err);
        if (err instanceof ApiError && err.code === 'closed') {
          setText(formError, 'tutor.ratingClosed');
          formError.hidden = false;
          return;
        }
        if (err instanceof ApiError && Object.keys(err.fields).length) errors.show(err.fields);
        const m = errorMessage(err);
        setText(formError, m.key, m.params);
        formError.hidden = false;
      }
    });
  };
  form.addEventListener('submit', (ev) => {
    ev.preventDefault();
    save();
  });
  submit.addEventListener('click', save);
}

/** noteDialog lets the teacher write down what the session covered. */
export function noteDialog(s: TutoringSession, onSaved?: (s: TutoringSession) => void): void {
  const d = openDialog({ title: 'tutor.noteTitle', testId: 'note-dialog' });
  const who = tx('p', 'tutor.noteWho', { name: s.student_name }, { class: 'muted' });
  const noteId = `note-text-${++seq}`;
  const note = h('textarea', { id: noteId, name: 'note', rows: 4, maxlength: 2000, 'data-testid': 'note-text' });
  note.value = s.teacher_note?.note ?? '';
  const noteError = h('p', { class: 'field-error', hidden: true, role: 'alert' });
  const noteBox = h('div', { class: 'field', 'data-field': 'note' }, tx('label', 'tutor.note', undefined, { for: noteId }), note, noteError);
  const kpList = h('div', { class: 'check-list kp-list' }, h('span', { class: 'muted', text: t('common.loading') }));
  const kpError = h('p', { class: 'field-error', hidden: true, role: 'alert' });
  const kpBox = h('fieldset', { class: 'field', 'data-field': 'knowledge_point_ids' }, tx('legend', 'tutor.noteKnowledgePoints'), kpList, kpError);
  const chosen = new Set(s.teacher_note?.knowledge_point_ids ?? []);
  // The subject's points, those of the session's grade first.
  void knowledgePoints(s.subject_id)
    .then((all) => {
      const list = [...all.filter((k) => k.grade === s.grade), ...all.filter((k) => k.grade !== s.grade)];
      if (list.length === 0) {
        kpList.replaceChildren(tx('span', 'tutor.noKnowledgePoints', undefined, { class: 'muted' }));
        return;
      }
      kpList.replaceChildren(
        ...list.map((k) => {
          const cb = h('input', { type: 'checkbox', name: 'knowledge_point_ids', value: k.id, 'data-testid': `note-kp-${k.code}` });
          cb.checked = chosen.has(k.id);
          return h('label', { class: 'check' }, cb, h('span', { text: k.grade === s.grade ? k.name : `${k.name}（${t('grade.n', { n: k.grade })}）` }));
        }),
      );
    })
    .catch(() => kpList.replaceChildren(tx('span', 'tutor.noKnowledgePoints', undefined, { class: 'muted' })));
  const formError = h('p', { class: 'form-error', 'data-testid': 'note-error', hidden: true, role: 'alert' });
  const errors = new FieldErrors();
  errors.add('note', { box: noteBox, error: noteError });
  errors.add('knowledge_point_ids', { box: kpBox, error: kpError });
  const form = h('form', { class: 'dialog-form', novalidate: true }, who, noteBox, kpBox, formError);
  d.body.append(form);
  const skip = button('tutor.skip', { 'data-testid': 'note-skip' }, () => d.close());
  const submit = button('action.save', { class: 'btn primary', 'data-testid': 'note-submit' });
  d.actions.append(skip, submit);
  const save = () => {
    if (submit.disabled) return;
    errors.clear();
    formError.hidden = true;
    const ids = [...kpList.querySelectorAll<HTMLInputElement>('input:checked')].map((i) => Number(i.value));
    void busy(submit, 'common.saving', async () => {
      try {
        const saved = await api.put<TutoringSession>(`/api/v1/tutoring/sessions/${s.id}/note`, { note: note.value.trim(), knowledge_point_ids: ids });
        d.close();
        toast({ key: 'tutor.noteSaved' }, 'ok');
        onSaved?.(saved);
      } catch (err) {
        console.error('note failed', err);
        if (err instanceof ApiError && Object.keys(err.fields).length) errors.show(err.fields);
        const m = errorMessage(err);
        setText(formError, m.key, m.params);
        formError.hidden = false;
      }
    });
  };
  form.addEventListener('submit', (ev) => {
    ev.preventDefault();
    save();
  });
  submit.addEventListener('click', save);
}
