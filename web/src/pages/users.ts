// Users: list, search, filter, create with the fields each role needs, edit,
// deactivate and reset passwords.

import { api, query, userRoles, type District, type List, type School, type Subject, type User, type UserRole } from '../api';
import { clearErrors } from '../banners';
import { h } from '../dom';
import { t } from '../i18n';
import { has, isDistrictLevel, roleKey, state, subjects } from '../session';
import { busy, button, checkboxGroup, FieldErrors, fillSelect, inputField, loading, notify, pageHeader, pager, selectField, showApiError, table, tx, type Option } from '../ui';
import { adminNav, allDistricts, allSchools } from './admin';

const limit = 20;
const filter = { q: '', role: '', school: '', active: '', offset: 0 };

/** assignable lists the roles the signed-in admin may hand out. */
function assignable(): UserRole[] {
  if (has('system_admin')) return [...userRoles];
  if (has('district_admin')) return userRoles.filter((r) => r !== 'system_admin');
  return ['student', 'teacher', 'school_admin'];
}

function subjectLabel(s: Subject): string {
  return document.documentElement.lang === 'en' && s.name_en ? s.name_en : s.name;
}

export function renderUsers(root: HTMLElement): void {
  let schools: School[] = [];
  let subjectList: Subject[] = [];
  let districts: District[] = [];
  const schoolName = (id: number) => schools.find((s) => s.id === id)?.name ?? (id ? `#${id}` : '—');

  const q = inputField('q', 'users.search', 'search', { testId: 'users-q', attrs: { placeholder: t('users.searchPlaceholder'), 'data-i18n-placeholder': 'users.searchPlaceholder' } });
  const role = selectField('role', 'users.role', [{ value: '', key: 'filter.all' }, ...userRoles.map((r) => ({ value: r, key: roleKey(r) }))], { testId: 'users-role' });
  const school = selectField('school_id', 'users.school', [{ value: '', key: 'filter.all' }], { testId: 'users-school' });
  const active = selectField('active', 'filter.status', [{ value: '', key: 'filter.all' }, { value: 'true', key: 'status.active' }, { value: 'false', key: 'status.inactive' }], { testId: 'users-active' });
  q.input.value = filter.q;
  role.input.value = filter.role;
  active.input.value = filter.active;
  const filters = h('form', { class: 'filters', role: 'search' }, q.box, role.box, school.box, active.box, tx('button', 'action.search', undefined, { type: 'submit', class: 'btn' }));
  const listBox = h('div', { class: 'list-box', 'data-testid': 'users-list' });
  const editorBox = h('div');
  const create = button('users.create', { class: 'btn primary', 'data-testid': 'users-create' }, () => openEditor(null));

  const load = async () => {
    listBox.replaceChildren(loading());
    try {
      const list = await api.get<List<User>>(`/api/v1/users${query({ q: filter.q, role: filter.role, school_id: filter.school, active: filter.active, limit, offset: filter.offset })}`);
      draw(list);
    } catch (err) {
      listBox.replaceChildren();
      showApiError(err);
    }
  };

  const draw = (list: List<User>) => {
    const items = list.items ?? [];
    const tbl = table<User>(
      [
        { head: 'users.username', cell: (u) => u.username },
        { head: 'users.name', cell: (u) => u.name },
        { head: 'users.roles', cell: (u) => h('span', { class: 'roles' }, ...(u.roles ?? []).map((r) => tx('span', roleKey(r), undefined, { class: 'pill' }))) },
        { head: 'users.school', cell: (u) => schoolName(u.school_id) },
        { head: 'filter.status', cell: (u) => tx('span', u.active ? 'status.active' : 'status.inactive', undefined, { class: u.active ? 'pill ok' : 'pill off' }) },
        {
          head: 'common.actions',
          class: 'actions',
          cell: (u) =>
            h(
              'span',
              {},
              button('action.edit', { class: 'btn small', 'data-testid': 'user-edit' }, () => openEditor(u)),
              button(u.active ? 'action.deactivate' : 'action.reactivate', { class: 'btn small', 'data-testid': 'user-toggle' }, (ev) => void toggle(u, ev.currentTarget as HTMLButtonElement)),
              u.id !== state.me?.user.id ? button('users.resetPassword', { class: 'btn small', 'data-testid': 'user-reset' }, () => openReset(u)) : null,
            ),
        },
      ],
      items,
      'users.empty',
      { 'data-testid': 'users-table' },
    );
    for (const [i, tr] of [...tbl.tBodies[0].rows].entries()) if (items[i]) tr.dataset.username = items[i].username;
    listBox.replaceChildren(tbl, pager(filter.offset, limit, list.total ?? items.length, (o) => { filter.offset = o; void load(); }));
  };

  const toggle = async (u: User, btn: HTMLButtonElement) => {
    clearErrors();
    await busy(btn, 'common.saving', async () => {
      try {
        await api.patch<User>(`/api/v1/users/${u.id}`, { active: !u.active, version: u.version });
        notify({ key: u.active ? 'users.deactivated' : 'users.reactivated', params: { name: u.name } });
        await load();
      } catch (err) {
        showApiError(err, undefined, () => void load());
      }
    });
  };

  const openReset = (u: User) => {
    clearErrors();
    const pw = inputField('new_password', 'users.newPassword', 'password', { testId: 'reset-password', hint: 'password.rule', attrs: { autocomplete: 'new-password', maxlength: 128 } });
    const errors = new FieldErrors();
    errors.add('new_password', pw);
    const save = tx('button', 'users.resetSubmit', undefined, { type: 'submit', class: 'btn primary', 'data-testid': 'reset-submit' });
    const outcome = h('p', { class: 'notice', role: 'status', 'data-testid': 'reset-outcome', hidden: true });
    const form = h(
      'form',
      { class: 'card editor', novalidate: true, 'data-testid': 'reset-editor' },
      tx('h2', 'users.resetTitle', { name: u.name, username: u.username }),
      tx('p', 'users.resetExplain', undefined, { class: 'muted' }),
      pw.box,
      outcome,
      h('div', { class: 'form-actions' }, save, button('action.close', {}, () => editorBox.replaceChildren())),
    );
    form.addEventListener('submit', (ev) => {
      ev.preventDefault();
      errors.clear();
      clearErrors();
      const n = pw.input.value;
      if (n.length < 8 || n.length > 128) return errors.local('new_password', 'password.rule');
      void busy(save, 'common.saving', async () => {
        try {
          await api.post<unknown>(`/api/v1/users/${u.id}/password`, { new_password: n });
          pw.input.value = '';
          outcome.hidden = false;
          outcome.dataset.i18n = 'users.resetDone';
          outcome.dataset.i18nParams = JSON.stringify({ name: u.name });
          outcome.textContent = t('users.resetDone', { name: u.name });
          save.hidden = true;
        } catch (err) {
          showApiError(err, errors);
        }
      });
    });
    editorBox.replaceChildren(form);
    pw.input.focus();
  };

  const openEditor = (u: User | null) => {
    clearErrors();
    const errors = new FieldErrors();
    const f = (name: string, label: Parameters<typeof inputField>[1], type = 'text', attrs: Record<string, string | number | boolean> = {}) => {
      const x = inputField(name, label, type, { testId: `user-form-${name}`, attrs });
      errors.add(name, x);
      return x;
    };
    const username = f('username', 'users.username', 'text', { maxlength: 128, autocomplete: 'off' });
    const name = f('name', 'users.name', 'text', { maxlength: 128 });
    const password = u ? null : f('password', 'users.password', 'password', { autocomplete: 'new-password', maxlength: 128 });
    const roles = checkboxGroup('roles', 'users.roles', assignable().map((r) => ({ value: r, key: roleKey(r) })), 'user-form-role');
    errors.add('roles', roles);
    const schoolOpts: Option[] = [{ value: '', key: 'users.noSchool' }, ...schools.map((s) => ({ value: String(s.id), text: `${s.name} (${s.code})` }))];
    const schoolSel = selectField('school_id', 'users.school', schoolOpts, { testId: 'user-form-school' });
    errors.add('school_id', schoolSel);
    const districtSel = has('system_admin') ? selectField('district_id', 'users.district', [{ value: '', key: 'users.noDistrict' }, ...districts.map((d) => ({ value: String(d.id), text: `${d.name} (${d.code})` }))], { testId: 'user-form-district' }) : null;
    if (districtSel) errors.add('district_id', districtSel);
    // student
    const studentNo = f('student_no', 'users.studentNo', 'text', { maxlength: 64 });
    const grade = selectField('grade', 'users.grade', [{ value: '', key: 'users.noGrade' }, ...Array.from({ length: 12 }, (_, i) => ({ value: String(i + 1), text: t('grade.n', { n: i + 1 }) }))], { testId: 'user-form-grade' });
    errors.add('grade', grade);
    const klass = f('class', 'users.class', 'text', { maxlength: 32 });
    // teacher / expert
    const staffNo = f('staff_no', 'users.staffNo', 'text', { maxlength: 64 });
    const subj = checkboxGroup('subject_ids', 'users.subjects', subjectList.map((s) => ({ value: String(s.id), text: subjectLabel(s) })), 'user-form-subject');
    errors.add('subject_ids', subj);
    const grades = checkboxGroup('grades', 'users.grades', Array.from({ length: 12 }, (_, i) => ({ value: String(i + 1), text: String(i + 1) })), 'user-form-grades');
    errors.add('grades', grades);
    const trainee = h('input', { type: 'checkbox', name: 'trainee', 'data-testid': 'user-form-trainee' });
    const traineeBox = h('div', { class: 'field', 'data-field': 'trainee' }, h('label', { class: 'check' }, trainee, tx('span', 'users.trainee')));
    const scopeDistrict = h('input', { type: 'checkbox', name: 'scope_district', 'data-testid': 'user-form-scope-district' });
    const scopeSchools = checkboxGroup('expert_scope', 'users.scopeSchools', schools.map((s) => ({ value: String(s.id), text: s.name })), 'user-form-scope-school');
    errors.add('expert_scope', scopeSchools);
    const scopeBox = h('fieldset', { class: 'field' }, tx('legend', 'users.scope'), h('label', { class: 'check' }, scopeDistrict, tx('span', 'users.scopeDistrict')), scopeSchools.box);

    const studentPart = h('div', { class: 'role-part form-grid', 'data-part': 'student' }, tx('h3', 'role.student'), studentNo.box, grade.box, klass.box);
    const teacherPart = h('div', { class: 'role-part form-grid', 'data-part': 'teacher' }, tx('h3', 'role.teacher'), staffNo.box, grades.box, traineeBox);
    const subjectPart = h('div', { class: 'role-part', 'data-part': 'subjects' }, subj.box);
    const expertPart = h('div', { class: 'role-part', 'data-part': 'expert' }, tx('h3', 'role.expert'), scopeBox);

    if (u) {
      username.input.value = u.username;
      name.input.value = u.name;
      roles.set(u.roles ?? []);
      schoolSel.input.value = u.school_id ? String(u.school_id) : '';
      if (districtSel) districtSel.input.value = u.district_id ? String(u.district_id) : '';
      studentNo.input.value = u.student_no ?? '';
      grade.input.value = u.grade ? String(u.grade) : '';
      klass.input.value = u.class ?? '';
      staffNo.input.value = u.staff_no ?? '';
      subj.set((u.subject_ids ?? []).map(String));
      grades.set((u.grades ?? []).map(String));
      trainee.checked = !!u.trainee;
      scopeDistrict.checked = !!u.expert_scope?.district;
      scopeSchools.set((u.expert_scope?.school_ids ?? []).map(String));
    } else if (state.me?.user.school_id && !isDistrictLevel()) {
      schoolSel.input.value = String(state.me.user.school_id);
    }

    const sync = () => {
      const r = roles.values();
      studentPart.hidden = !r.includes('student');
      teacherPart.hidden = !r.includes('teacher');
      expertPart.hidden = !r.includes('expert');
      subjectPart.hidden = !(r.includes('teacher') || r.includes('expert'));
      scopeSchools.box.hidden = scopeDistrict.checked;
    };
    roles.box.addEventListener('change', sync);
    scopeDistrict.addEventListener('change', sync);
    sync();

    const save = tx('button', 'action.save', undefined, { type: 'submit', class: 'btn primary', 'data-testid': 'user-save' });
    const form = h(
      'form',
      { class: 'card editor', novalidate: true, 'data-testid': 'user-editor' },
      tx('h2', u ? 'users.editTitle' : 'users.createTitle', u ? { name: u.name } : undefined),
      h('div', { class: 'form-grid' }, username.box, name.box, password?.box ?? null, schoolSel.box, districtSel?.box ?? null),
      roles.box,
      studentPart,
      teacherPart,
      subjectPart,
      expertPart,
      h('div', { class: 'form-actions' }, save, button('action.cancel', {}, () => editorBox.replaceChildren())),
    );

    form.addEventListener('submit', (ev) => {
      ev.preventDefault();
      errors.clear();
      clearErrors();
      const r = roles.values() as UserRole[];
      let ok = true;
      if (!username.input.value.trim()) (errors.local('username', 'form.required', { field: t('users.username') }), (ok = false));
      if (!name.input.value.trim()) (errors.local('name', 'form.required', { field: t('users.name') }), (ok = false));
      if (password && (password.input.value.length < 8 || password.input.value.length > 128)) (errors.local('password', 'password.rule'), (ok = false));
      if (r.length === 0) (errors.local('roles', 'users.rolesRequired'), (ok = false));
      if (!ok) return;
      const body: Record<string, unknown> = {
        username: username.input.value.trim(),
        name: name.input.value.trim(),
        roles: r,
      };
      if (password) body.password = password.input.value;
      if (schoolSel.input.value) body.school_id = Number(schoolSel.input.value);
      else if (u) body.school_id = 0;
      if (districtSel?.input.value) body.district_id = Number(districtSel.input.value);
      if (r.includes('student')) {
        body.student_no = studentNo.input.value.trim();
        body.grade = grade.input.value ? Number(grade.input.value) : 0;
        body.class = klass.input.value.trim();
      }
      if (r.includes('teacher')) {
        body.staff_no = staffNo.input.value.trim();
        body.grades = grades.values().map(Number);
        body.trainee = trainee.checked;
      }
      if (r.includes('teacher') || r.includes('expert')) body.subject_ids = subj.values().map(Number);
      if (r.includes('expert')) body.expert_scope = { district: scopeDistrict.checked, school_ids: scopeDistrict.checked ? [] : scopeSchools.values().map(Number) };
      void busy(save, 'common.saving', async () => {
        try {
          if (u) {
            body.version = u.version;
            await api.patch<User>(`/api/v1/users/${u.id}`, body);
            notify({ key: 'users.saved', params: { name: String(body.name) } });
          } else {
            await api.post<User>('/api/v1/users', body);
            notify({ key: 'users.created', params: { name: String(body.name) } });
          }
          editorBox.replaceChildren();
          await load();
        } catch (err) {
          showApiError(err, errors, () => {
            editorBox.replaceChildren();
            void load();
          });
        }
      });
    });
    editorBox.replaceChildren(form);
    username.input.focus();
  };

  filters.addEventListener('submit', (ev) => {
    ev.preventDefault();
    filter.q = q.input.value.trim();
    filter.offset = 0;
    void load();
  });
  for (const sel of [role.input, school.input, active.input]) {
    sel.addEventListener('change', () => {
      filter.role = role.input.value;
      filter.school = school.input.value;
      filter.active = active.input.value;
      filter.offset = 0;
      void load();
    });
  }

  root.replaceChildren(h('section', { class: 'admin-page', 'data-testid': 'users-page' }, adminNav(), pageHeader('nav.users', create), editorBox, filters, listBox));
  create.disabled = true;
  void (async () => {
    const [s, sub, d] = await Promise.allSettled([allSchools(), subjects(), has('system_admin') ? allDistricts() : Promise.resolve([] as District[])]);
    schools = s.status === 'fulfilled' ? s.value : [];
    subjectList = sub.status === 'fulfilled' ? sub.value : [];
    districts = d.status === 'fulfilled' ? d.value : [];
    const sOpts: Option[] = [{ value: '', key: 'filter.all' }, ...schools.map((x) => ({ value: String(x.id), text: x.name }))];
    fillSelect(school.input, sOpts);
    school.input.value = filter.school;
    create.disabled = false;
    await load();
  })();
}
