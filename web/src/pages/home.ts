// The page each role lands on after signing in.

import { api, query, roomToken, type Activity, type Me, type School } from '../api';
import { clearErrors, showBanner } from '../banners';
import { h } from '../dom';
import { t, type Key } from '../i18n';
import { classroomRole, enterClassroom, type Failure } from '../live';
import { has, primaryRole, roleKey, state, subjects } from '../session';
import { busy, FieldErrors, fillSelect, formatDateTime, inputField, loading, selectField, showApiError, tx } from '../ui';
import { askCard, availabilityCard, historyCard } from './tutoring';

export interface HomeHooks {
  /** Called when a class entered from the home page ends. */
  classEnded(failure: Failure | null): void;
}

function infoRow(label: Key, value: Node | string, testId?: string): HTMLElement {
  return h('div', { class: 'info-row' }, tx('dt', label), h('dd', { 'data-testid': testId }, value));
}

function dash(v: string | number | null | undefined): string {
  return v === undefined || v === null || v === '' || v === 0 ? '—' : String(v);
}

/** joinCard is the "enter a class room" form; the server decides what the caller may do there. */
function joinCard(me: Me, heading: Key, hint: Key, submitKey: Key, hooks: HomeHooks, pickSchool = false): HTMLElement {
  const room = inputField('room', 'home.roomName', 'text', { testId: 'home-room', hint, attrs: { maxlength: 128, autocomplete: 'off' } });
  const errors = new FieldErrors();
  errors.add('room', room);
  // Observers pick the school whose class they watch; rooms are per school.
  let school: ReturnType<typeof selectField> | null = null;
  if (pickSchool) {
    const own = me.school ? [{ value: String(me.school.id), text: me.school.name }] : [];
    school = selectField('school_id', 'home.school', own, { testId: 'home-school' });
    errors.add('school_id', school);
    const sel = school;
    void api
      .get<{ items: School[] }>(`/api/v1/schools${query({ active: true, limit: 500 })}`)
      .then((list) => {
        const items = list.items ?? [];
        if (items.length) fillSelect(sel.input, items.map((s) => ({ value: String(s.id), text: s.name })));
        if (me.school) sel.input.value = String(me.school.id);
      })
      .catch((err) => console.error('schools for the observe form', err));
  }
  const submit = tx('button', submitKey, undefined, { type: 'submit', class: 'btn primary', 'data-testid': 'home-join' });
  const form = h('form', { class: 'card panel-card', novalidate: true }, tx('h2', heading), school?.box ?? null, room.box, submit);
  try {
    room.input.value = localStorage.getItem('yunke.lastRoom') ?? '';
  } catch {
    // storage unavailable
  }
  form.addEventListener('submit', (ev) => {
    ev.preventDefault();
    if (submit.disabled) return;
    errors.clear();
    clearErrors();
    const name = room.input.value.trim();
    if (!name) {
      errors.local('room', 'form.required', { field: t('home.roomName') });
      room.input.focus();
      return;
    }
    void busy(submit, 'join.submitting', async () => {
      let grant;
      try {
        grant = await roomToken(name, school?.input.value ? Number(school.input.value) : undefined);
      } catch (err) {
        showApiError(err, errors);
        return;
      }
      try {
        localStorage.setItem('yunke.lastRoom', name);
      } catch {
        // ignore
      }
      const pageView = document.getElementById('page-view');
      try {
        await enterClassroom(grant, classroomRole(grant.role, me.home), hooks.classEnded);
      } catch (failure) {
        const f = failure as Failure;
        showBanner('error', { kind: 'error', code: f.code, message: f.message, testId: 'banner-error' });
        return;
      }
      if (pageView) pageView.hidden = true;
    });
  });
  return form;
}

function comingSoon(title: Key): HTMLElement {
  return h('section', { class: 'card panel-card soon', 'data-testid': 'coming-soon' }, tx('h2', title), tx('p', 'home.comingSoon', undefined, { class: 'muted' }));
}

function greeting(me: Me): HTMLElement {
  const school = me.school?.name ?? me.district?.name ?? '';
  return h(
    'div',
    { class: 'page-head' },
    tx('h1', 'home.greeting', { name: me.user.name || me.user.username }, { 'data-testid': 'home-greeting' }),
    school ? h('span', { class: 'muted', text: school }) : null,
  );
}

async function subjectNames(ids: number[] | null | undefined): Promise<string> {
  if (!ids?.length) return '—';
  try {
    const all = await subjects();
    const en = document.documentElement.lang === 'en';
    return ids.map((id) => {
      const s = all.find((x) => x.id === id);
      return s ? (en && s.name_en ? s.name_en : s.name) : `#${id}`;
    }).join('、');
  } catch {
    return ids.map((id) => `#${id}`).join('、');
  }
}

function gradesText(grades: number[] | null | undefined): string {
  if (!grades?.length) return '—';
  return [...grades].sort((a, b) => a - b).map((g) => t('grade.n', { n: g })).join('、');
}

function studentHome(me: Me, hooks: HomeHooks): HTMLElement[] {
  const u = me.user;
  const info = h(
    'dl',
    { class: 'card panel-card info-list', 'data-testid': 'student-info' },
    infoRow('home.school', dash(me.school?.name), 'info-school'),
    infoRow('home.grade', u.grade ? t('grade.n', { n: u.grade }) : '—', 'info-grade'),
    infoRow('home.class', dash(u.class), 'info-class'),
    infoRow('home.studentNo', dash(u.student_no)),
  );
  return [
    h('div', { class: 'home-grid' }, askCard(), historyCard('student')),
    h('div', { class: 'home-grid' }, joinCard(me, 'home.joinClass', 'home.joinHintStudent', 'join.submit', hooks), info),
    h('div', { class: 'home-grid' }, comingSoon('home.qaHistory')),
  ];
}

function teacherHome(me: Me, hooks: HomeHooks): HTMLElement[] {
  const u = me.user;
  const subj = h('dd', { 'data-testid': 'info-subjects', text: '…' });
  void subjectNames(u.subject_ids).then((s) => (subj.textContent = s));
  const info = h(
    'dl',
    { class: 'card panel-card info-list', 'data-testid': 'teacher-info' },
    infoRow('home.school', dash(me.school?.name), 'info-school'),
    h('div', { class: 'info-row' }, tx('dt', 'home.subjects'), subj),
    infoRow('home.grades', gradesText(u.grades), 'info-grades'),
    u.trainee ? infoRow('home.trainee', t('common.yes')) : null,
    infoRow('home.staffNo', dash(u.staff_no)),
  );
  return [
    h('div', { class: 'home-grid' }, availabilityCard(me), historyCard('teacher')),
    h('div', { class: 'home-grid' }, joinCard(me, 'home.startClass', 'home.joinHintTeacher', 'home.startSubmit', hooks), info),
  ];
}

function expertHome(me: Me, hooks: HomeHooks): HTMLElement[] {
  const u = me.user;
  const subj = h('dd', { 'data-testid': 'info-subjects', text: '…' });
  void subjectNames(u.subject_ids).then((s) => (subj.textContent = s));
  const scope = h('dd', { 'data-testid': 'info-scope' });
  if (u.expert_scope?.district) {
    scope.append(tx('span', 'home.scopeDistrict', { district: me.district?.name ?? '' }));
  } else if (u.expert_scope?.school_ids?.length) {
    const ids = u.expert_scope.school_ids;
    scope.textContent = ids.map((id) => `#${id}`).join('、');
    void api
      .get<{ items: School[] }>(`/api/v1/schools${query({ limit: 500 })}`)
      .then((list) => {
        scope.textContent = ids.map((id) => list.items.find((s) => s.id === id)?.name ?? `#${id}`).join('、');
      })
      .catch(() => {});
  } else {
    scope.append(tx('span', 'home.scopeNone'));
  }
  const info = h(
    'dl',
    { class: 'card panel-card info-list', 'data-testid': 'expert-info' },
    h('div', { class: 'info-row' }, tx('dt', 'home.scope'), scope),
    h('div', { class: 'info-row' }, tx('dt', 'home.subjects'), subj),
  );
  return [h('div', { class: 'home-grid' }, joinCard(me, 'home.observeClass', 'home.joinHintObserver', 'home.observeSubmit', hooks, true), info)];
}

export interface AdminLink {
  path: string;
  key: Key;
  hint: Key;
  show: () => boolean;
}

export const adminLinks: AdminLink[] = [
  { path: '/admin/schools', key: 'nav.schools', hint: 'nav.schoolsHint', show: () => true },
  { path: '/admin/users', key: 'nav.users', hint: 'nav.usersHint', show: () => true },
  { path: '/admin/import', key: 'nav.import', hint: 'nav.importHint', show: () => true },
  { path: '/admin/targets', key: 'nav.targets', hint: 'nav.targetsHint', show: () => true },
  { path: '/admin/subjects', key: 'nav.subjects', hint: 'nav.subjectsHint', show: () => true },
  { path: '/admin/districts', key: 'nav.districts', hint: 'nav.districtsHint', show: () => has('system_admin') },
];

function activityList(root: HTMLElement): void {
  root.replaceChildren(tx('h2', 'home.recentActivity'), loading());
  void api
    .get<{ items: Activity[] }>(`/api/v1/activity/recent${query({ limit: 10 })}`)
    .then((list) => {
      const items = list.items ?? [];
      const ol = h('ol', { class: 'activity', 'data-testid': 'activity-list' });
      if (items.length === 0) ol.append(tx('li', 'home.noActivity', undefined, { class: 'muted' }));
      for (const a of items) {
        ol.append(h('li', { 'data-testid': 'activity-item' }, h('time', { datetime: a.at, text: formatDateTime(a.at) }), h('span', { class: 'activity-action', text: a.action }), a.subject ? h('span', { class: 'muted', text: a.subject }) : null));
      }
      root.replaceChildren(tx('h2', 'home.recentActivity'), ol);
    })
    .catch((err) => {
      root.replaceChildren(tx('h2', 'home.recentActivity'), tx('p', 'home.activityFailed', undefined, { class: 'muted' }));
      console.error('recent activity', err);
    });
}

function adminHome(me: Me, hooks: HomeHooks): HTMLElement[] {
  const role = primaryRole(me.user.roles);
  const nav = h('nav', { class: 'admin-tiles', 'aria-label': t('nav.admin'), 'data-testid': 'admin-nav' });
  for (const l of adminLinks) {
    if (!l.show()) continue;
    const a = h('a', { href: `#${l.path}`, class: 'card admin-tile', 'data-testid': `nav-${l.path.split('/').pop()}` }, tx('strong', l.key), tx('small', l.hint));
    nav.append(a);
  }
  const activity = h('section', { class: 'card panel-card', 'data-testid': 'recent-activity' });
  activityList(activity);
  const scope = role === 'system_admin' ? t('home.scopeInstallation') : role === 'district_admin' ? (me.district?.name ?? '') : (me.school?.name ?? '');
  return [
    h('p', { class: 'muted admin-scope' }, tx('span', roleKey(role)), scope ? h('span', { text: ` · ${scope}` }) : null),
    nav,
    h('div', { class: 'home-grid' }, activity, joinCard(me, 'home.observeClass', 'home.joinHintObserver', 'home.observeSubmit', hooks, true)),
  ];
}

export function renderHome(root: HTMLElement, hooks: HomeHooks): void {
  const me = state.me;
  if (!me) return;
  let body: HTMLElement[];
  switch (me.home) {
    case 'student':
      body = studentHome(me, hooks);
      break;
    case 'teacher':
      body = teacherHome(me, hooks);
      break;
    case 'expert':
      body = expertHome(me, hooks);
      break;
    default:
      body = adminHome(me, hooks);
  }
  root.replaceChildren(h('section', { class: 'home', 'data-testid': 'home', 'data-home': me.home }, greeting(me), ...body));
}
